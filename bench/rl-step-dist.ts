/**
 * `npm run bench -- rl-step --nproc 2 [--steps=N]`: the demo's F-GRPO step (16 prompts × 8
 * rollouts) in one process with 2 threads against 2 data-parallel processes with 1 thread each
 * (Gloo on 127.0.0.1), on the same machine. Prints one JSON line per layout: rollouts per second
 * of the whole step (median wall time) and, for the ranks, the gradient all-reduce time per step
 * (as the step sees it, waiting for the slower rank included) and that of the all-reduce alone.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as T from "../src/torch/index.js";
import { ProcessGroup } from "../src/torch/distributed.js";
import { parseConfig } from "../src/fgrpo/trainer/config.js";
import { setupTask } from "../src/fgrpo/trainer/data.js";
import { createPolicy, disposePolicy } from "../src/fgrpo/trainer/policy.js";
import type { TaskVocabCodec } from "../src/fgrpo/trainer/policy-codec.js";
import { TrainingLoop } from "../src/fgrpo/trainer/loop.js";
import { DataParallel } from "../src/fgrpo/trainer/dist.js";
import { rewardConfigOf, rlStep } from "../src/fgrpo/trainer/rl-step.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `steps` timed RL steps (after one warm-up) with `threads` threads; returns the medians. */
function measure(steps: number, threads: number, dp?: DataParallel) {
  const config = parseConfig({ ...DEMO_CONFIG, threads, blas_threads: threads, output_dir: mkdtempSync(join(tmpdir(), "fgrpo-bench-")), rl: { ...DEMO_CONFIG.rl, max_steps: steps + 1, warmup_steps: 0 } });
  T.setNumThreads(threads, threads);
  T.manualSeed(config.seed);
  const task = setupTask(config);
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
  dp?.broadcastParameters(policy.model.params);
  const loop = new TrainingLoop({
    phase: "rl", outputDir: config.output_dir, params: policy.model.params, settings: config.rl, seed: 1, config,
    saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3, dataParallel: dp,
  });
  const ctx = { policy, reference: null, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop };
  rlStep(ctx); // warm-up
  const wall: number[] = [], reduce: number[] = [];
  for (let i = 0; i < steps; i++) {
    dp?.group.barrier();
    const t0 = performance.now();
    const r = rlStep(ctx);
    wall.push(performance.now() - t0);
    if (dp) reduce.push(r.ms_allreduce as number);
  }
  // The all-reduce alone, of a buffer the size of the gradients, after a barrier (no waiting on a slower rank).
  const pure: number[] = [];
  const numel = [...policy.model.params.values()].reduce((n, p) => n + p.numel, 0);
  if (dp) {
    const buf = T.zeros([numel]);
    for (let i = 0; i < 5; i++) {
      dp.group.barrier();
      const t0 = performance.now();
      dp.group.allReduce([buf], "sum");
      pure.push(performance.now() - t0);
    }
    buf.dispose();
  }
  loop.dispose();
  disposePolicy(policy);
  const rollouts = config.rl.prompts_per_step * config.rl.num_generations;
  // ms_allreduce includes waiting for the slower rank to reach the reduction.
  return { rollouts, parameters: numel, ms_step: Math.round(median(wall)), rollouts_per_s: Math.round((rollouts / (median(wall) / 1000)) * 10) / 10, ms_allreduce: reduce.length > 0 ? Math.round(median(reduce) * 10) / 10 : null, ms_allreduce_alone: pure.length > 0 ? Math.round(median(pure) * 100) / 100 : null };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function run(args: string[]): Promise<void> {
  const steps = Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 3);
  const nproc = Number(args[args.indexOf("--nproc") + 1] ?? 2);
  if (process.env.FGRPO_BENCH_WORKER === "1") {
    const rank = Number(process.env.RANK), worldSize = Number(process.env.WORLD_SIZE);
    const group = ProcessGroup.init({ masterAddr: "127.0.0.1", masterPort: Number(process.env.MASTER_PORT), rank, worldSize, timeoutMs: 600_000 });
    const r = measure(steps, 1, new DataParallel(group));
    group.barrier();
    group.destroy();
    if (rank === 0) console.log(JSON.stringify({ bench: "rl-step", layout: `${worldSize} processes × 1 thread`, ...r }));
    return;
  }
  console.log(JSON.stringify({ bench: "rl-step", layout: `1 process × ${nproc} threads`, ...measure(steps, nproc) }));
  const port = await freePort();
  const script = fileURLToPath(new URL("../../scripts/bench.mjs", import.meta.url));
  await Promise.all(Array.from({ length: nproc }, (_, rank) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, "rl-step", "--nproc", String(nproc), `--steps=${steps}`], {
      stdio: "inherit",
      env: { ...process.env, FGRPO_BENCH_WORKER: "1", RANK: String(rank), WORLD_SIZE: String(nproc), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), OMP_NUM_THREADS: "1" },
    });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench rank ${rank} exited with ${code}`))));
  })));
}
