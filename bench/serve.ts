/**
 * `npm run bench -- serve [--checkpoint=DIR] [--duration=10] [--connections=1,16,64]
 * [--max-batch=32] [--max-wait-ms=5] [--requests=128]`: a bounded load test of `fgrpo serve` on
 * 127.0.0.1 with autocannon (fixed duration and connection counts), against `rank` on the same
 * requests in this process.
 *
 * The requests are the first test users of the bundled rec data (20-candidate pools, greedy).
 * Without --checkpoint a demo-size model (configs/demo.json dims) gets a short SFT first, so its
 * completions have trained lengths. The server runs in a child process (`fgrpo serve`), the load
 * generator here. Per connection count one JSON line: requests/s, p50/p99 latency, the mean batch
 * size (from the server's /metrics), errors and non-2xx answers (must be 0), and the ratio to
 * sequential ranking: one request per `rank` call, and `fgrpo rank`'s file path (batches of 64).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { parseConfig } from "../src/fgrpo/trainer/config.js";
import { runTraining } from "../src/fgrpo/trainer/run.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";
import { openRanker } from "../src/fgrpo/trainer/ranker.js";
import { requestSchema, parseRankRequest } from "../src/fgrpo/trainer/request-schema.js";
import { loadTaskData } from "../src/tasks/task-data.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function arg(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** A demo-size model after a short SFT (the format and slate lengths are learnt; quality is not the point). */
function benchCheckpoint(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "fgrpo-bench-serve-")), "run");
  const config = parseConfig({ ...DEMO_CONFIG, output_dir: dir, task: { ...DEMO_CONFIG.task, eval_examples: 16 }, sft: { ...DEMO_CONFIG.sft, max_steps: 60, eval_every: 0 }, rl: { ...DEMO_CONFIG.rl, max_steps: 0, warmup_steps: 0 } });
  runTraining(config, { quiet: true, log: () => {} });
  return join(dir, "final");
}

async function startServe(checkpoint: string, maxBatch: string, maxWait: string) {
  const child = spawn(process.execPath, [CLI, "serve", "--checkpoint", checkpoint, "--port", "0", "--max-batch", maxBatch, "--max-wait-ms", maxWait], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`fgrpo serve exited: ${stderr}`)));
  });
  return { child, url, exited };
}

async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { sum: read("fgrpo_serve_batch_size_sum"), count: read("fgrpo_serve_batch_size_count") };
}

export async function run(args: string[]): Promise<void> {
  const duration = Number(arg(args, "duration", "10"));
  const levels = arg(args, "connections", "1,16,64").split(",").map(Number);
  const maxBatch = arg(args, "max-batch", "32");
  const maxWait = arg(args, "max-wait-ms", "5");
  const count = Number(arg(args, "requests", "128"));
  const checkpoint = args.find((a) => a.startsWith("--checkpoint="))?.slice(13) ?? benchCheckpoint();

  const ranker = openRanker(checkpoint);
  const data = loadTaskData({ task: ranker.limits.task, poolSize: ranker.limits.layout.poolSize, seed: 0 });
  const lines = data.examples("test", count).map((e) => ({ id: e.id, history: e.history ?? [], candidates: e.pool.map((c) => ({ id: c.id, text: c.text })) }));
  const bodies = lines.map((l) => JSON.stringify(l));
  const schema = requestSchema(ranker.limits);
  const requests = lines.map((l) => parseRankRequest(l, schema, ranker.limits));

  // Sequential `rank` on the same requests, before the server starts (median of 3 passes each).
  const perSecond = (f: () => void) => {
    f(); // warm-up
    return median([0, 1, 2].map(() => {
      const t0 = performance.now();
      f();
      return requests.length / ((performance.now() - t0) / 1000);
    }));
  };
  const oneByOne = perSecond(() => requests.forEach((r) => ranker.rank([r])));
  const fileRank = perSecond(() => ranker.rank(requests));
  ranker.dispose();

  const server = await startServe(checkpoint, maxBatch, maxWait);
  let failures = 0;
  try {
    let next = 0;
    const load = (connections: number, seconds: number) =>
      autocannon({
        url: `${server.url}/v1/rank`,
        method: "POST",
        headers: { "content-type": "application/json" },
        connections,
        duration: seconds,
        requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }) }],
      });
    await load(16, 2); // warm-up
    for (const connections of levels) {
      const before = await batchStats(server.url);
      const r = await load(connections, duration);
      const after = await batchStats(server.url);
      const rps = r.requests.total / r.duration;
      const errors = r.errors + r.timeouts;
      failures += errors + r.non2xx;
      console.log(JSON.stringify({
        bench: "serve", connections, duration_s: duration, max_batch: Number(maxBatch), max_wait_ms: Number(maxWait),
        requests_per_s: round(rps, 1), latency_p50_ms: r.latency.p50, latency_p99_ms: r.latency.p99,
        mean_batch_size: round((after.sum - before.sum) / (after.count - before.count)),
        errors, non_2xx: r.non2xx, responses: r.requests.total,
        rank_sequential_per_s: round(oneByOne, 1), rank_file_per_s: round(fileRank, 1),
        ratio_to_sequential: round(rps / oneByOne), ratio_to_rank_file: round(rps / fileRank),
      }));
    }
  } finally {
    server.child.kill("SIGTERM");
  }
  const code = await server.exited;
  console.log(JSON.stringify({ bench: "serve", shutdown_exit_code: code, checkpoint }));
  if (failures > 0 || code !== 0) process.exitCode = 1;
}
