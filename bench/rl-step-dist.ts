/**
 * `npm run bench -- rl-step --nproc 2 [--steps=N] [--bucket-cap-mb=MB]`: the demo's F-GRPO step
 * (16 prompts × 8 rollouts) and SFT step (batch 32) in one process with 2 threads against 2
 * data-parallel processes with 1 thread each (Gloo on 127.0.0.1), on the same machine. Prints one
 * JSON line per layout and step kind (and, for the ranks, per all-reduce mode: overlapping the
 * backward or after it, alternated step by step): throughput of the whole step (median wall
 * time), the gradient all-reduce time the step waits for after its backward (waiting for the
 * slower rank included), the fraction of buckets launched during the backward, and the time of
 * the all-reduce of all gradients alone.
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
import { historyLossOf, sftStep } from "../src/fgrpo/trainer/sft.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Runs `steps` timed RL steps and SFT steps (after one warm-up each) with `threads` threads;
 * returns the medians. Under data parallelism the steps alternate between the gradient
 * all-reduce overlapping the backward and the all-reduce after it, so both are measured side by
 * side under the same machine load.
 */
function measure(steps: number, threads: number, dp?: DataParallel) {
  const config = parseConfig({ ...DEMO_CONFIG, threads, blas_threads: threads, output_dir: mkdtempSync(join(tmpdir(), "fgrpo-bench-")), rl: { ...DEMO_CONFIG.rl, max_steps: 2 * steps + 1, warmup_steps: 0 }, sft: { ...DEMO_CONFIG.sft, max_steps: 2 * steps + 1, warmup_steps: 0 } });
  T.setNumThreads(threads, threads);
  T.manualSeed(config.seed);
  const task = setupTask(config);
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
  dp?.broadcastParameters(policy.model.params);
  const loopOf = (phase: "sft" | "rl") => new TrainingLoop({
    phase, outputDir: config.output_dir, params: policy.model.params, settings: phase === "rl" ? config.rl : config.sft, seed: 1, config,
    saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3, dataParallel: dp,
  });
  const history = historyLossOf(config, task.policyCodec);
  const modes = dp ? [true, false] : [false];
  const results = [];
  for (const kind of ["rl", "sft"] as const) {
    const loop = loopOf(kind);
    const ctx = { policy, reference: null, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop };
    const step = () => (kind === "rl" ? rlStep(ctx) : sftStep(policy, task, loop, config.sft.batch_size, config.rl.constrained_decoding, undefined, 0, history));
    step(); // warm-up
    dp?.takeReduceMs();
    dp?.takeOverlap();
    const wall = new Map(modes.map((m) => [m, [] as number[]])), reduce = new Map(modes.map((m) => [m, [] as number[]])), overlap = new Map(modes.map((m) => [m, [] as number[]]));
    for (let i = 0; i < steps; i++) {
      for (const m of modes) {
        if (dp) {
          dp.overlap = m;
          dp.group.barrier();
        }
        const t0 = performance.now();
        const record = step() as Record<string, unknown>;
        wall.get(m)!.push(performance.now() - t0);
        if (dp) {
          // rlStep logs (and takes) its all-reduce time; sftStep leaves it here.
          reduce.get(m)!.push(kind === "rl" ? (record.ms_allreduce as number) : dp.takeReduceMs());
          overlap.get(m)!.push(dp.takeOverlap());
        }
      }
    }
    loop.dispose();
    const examples = kind === "rl" ? config.rl.prompts_per_step * config.rl.num_generations : config.sft.batch_size;
    for (const m of modes) {
      const ms = median(wall.get(m)!);
      results.push({
        bench: kind === "rl" ? "rl-step" : "sft-step",
        ...(dp ? { allreduce: m ? "overlapping backward" : "after backward" } : {}),
        [kind === "rl" ? "rollouts" : "examples"]: examples,
        ms_step: Math.round(ms),
        [kind === "rl" ? "rollouts_per_s" : "examples_per_s"]: round(examples / (ms / 1000)),
        // The gradient all-reduce time the step waits for after its backward (waiting for the slower rank included).
        ms_allreduce: dp ? round(median(reduce.get(m)!)) : null,
        buckets_in_backward: dp ? round(median(overlap.get(m)!), 2) : null,
      });
    }
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
  disposePolicy(policy);
  return results.map((r) => ({ ...r, parameters: numel, ms_allreduce_alone: pure.length > 0 ? round(median(pure), 2) : null }));
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
    const bucketMb = Number(args.find((a) => a.startsWith("--bucket-cap-mb="))?.slice(16) ?? 25);
    const rs = measure(steps, 1, new DataParallel(group, { bucketCapBytes: Math.round(bucketMb * 2 ** 20) }));
    group.barrier();
    group.destroy();
    if (rank === 0) for (const r of rs) console.log(JSON.stringify({ ...r, layout: `${worldSize} processes × 1 thread`, bucket_cap_mb: bucketMb }));
    return;
  }
  for (const r of measure(steps, nproc)) console.log(JSON.stringify({ ...r, layout: `1 process × ${nproc} threads` }));
  const port = await freePort();
  const script = fileURLToPath(new URL("../../scripts/bench.mjs", import.meta.url));
  await Promise.all(Array.from({ length: nproc }, (_, rank) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, "rl-step", "--nproc", String(nproc), `--steps=${steps}`, ...args.filter((a) => a.startsWith("--bucket-cap-mb="))], {
      stdio: "inherit",
      env: { ...process.env, FGRPO_BENCH_WORKER: "1", RANK: String(rank), WORLD_SIZE: String(nproc), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), OMP_NUM_THREADS: "1" },
    });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench rank ${rank} exited with ${code}`))));
  })));
}
