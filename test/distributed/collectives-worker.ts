/**
 * One rank of the collectives test (collectives.test.ts): joins the group from the torchrun
 * environment, runs each collective on rank-dependent inputs and prints the results as JSON.
 * With FGRPO_TEST_SCENARIO=die, rank 1 exits before the second collective (die0: rank 0, the
 * store's host); with hang, rank 1 sleeps.
 */
import * as T from "../../src/torch/index.js";
import { ProcessGroup } from "../../src/torch/distributed.js";

// `node --test dist/test/` runs every file, this one too: without the launch environment it has nothing to do.
if (process.env.RANK === undefined) process.exit(0);
const rank = Number(process.env.RANK), worldSize = Number(process.env.WORLD_SIZE);
const scenario = process.env.FGRPO_TEST_SCENARIO ?? "ok";
const pg = ProcessGroup.init({ masterAddr: process.env.MASTER_ADDR!, masterPort: Number(process.env.MASTER_PORT), rank, worldSize, timeoutMs: Number(process.env.FGRPO_TEST_TIMEOUT_MS ?? 20000) });
const out: Record<string, unknown> = { rank };
try {
  const a = T.tensor(Float32Array.from([1, 2, 3], (v) => v * (rank + 1)));
  pg.allReduce([a], "sum");
  out.sum = [...a.toFloat32Array()];
  if (scenario === "die" && rank === 1) process.exit(3);
  if (scenario === "die0" && rank === 0) process.exit(3);
  if (scenario === "hang" && rank === 1) await new Promise((r) => setTimeout(r, 60_000));
  const b = T.tensor(Float64Array.from([rank, 10 * rank]));
  pg.allReduce([b], "avg");
  out.avg = [...b.toFloat64Array()];
  const m = T.tensor(Float32Array.from([rank, -rank]));
  pg.allReduce([m], "max");
  out.max = [...m.toFloat32Array()];
  const c = T.tensor(Float32Array.from([rank + 100, rank + 200]));
  pg.broadcast([c], 1);
  out.broadcast = [...c.toFloat32Array()];
  out.gather = pg.allGather(T.tensor(Int32Array.from([rank, rank * rank]))).map((t) => t.toArray());
  const d = T.tensor(Float32Array.from([rank + 1]));
  await pg.allReduceAsync([d], "sum");
  out.asyncSum = [...d.toFloat32Array()];
  out.asyncGather = (await pg.allGatherAsync(T.tensor(Float32Array.from([rank])))).map((t) => t.item());
  await pg.barrierAsync();
  pg.barrier();
  console.log(JSON.stringify(out));
  pg.destroy();
} catch (e) {
  console.log(JSON.stringify({ rank, error: (e as Error).message, lagging: (e as { lagging?: number[] }).lagging }));
  process.exit(1);
}
