/**
 * `npm run bench -- soak [--steps=N] [--every=K] [--method=fgrpo]`: memory over a long RL run.
 * RL steps of a small config (the demo's model and data, 4 prompts × 4 rollouts per step, so
 * steps are cheap and many widths of rollouts occur) are run back to back; every K steps the
 * process's resident set (RSS), the JS heap, and the caching allocator's live and cached bytes
 * are sampled. Prints one JSON line per sample, then a summary line with the RSS slope (least
 * squares, MB per step) and the relative spread of RSS from step 200 on ("flat" = within 5%).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../src/torch/index.js";
import { parseConfig } from "../src/fgrpo/trainer/config.js";
import { setupTask } from "../src/fgrpo/trainer/data.js";
import { disposePolicy } from "../src/fgrpo/trainer/policy.js";
import { initialPolicy } from "../src/fgrpo/trainer/run.js";
import { TrainingLoop } from "../src/fgrpo/trainer/loop.js";
import { rewardConfigOf, rlStep } from "../src/fgrpo/trainer/rl-step.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";

const MB = 1024 * 1024;

function flag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

export function run(args: string[]): void {
  const steps = Number(flag(args, "steps", "5000"));
  const every = Number(flag(args, "every", "50"));
  const method = flag(args, "method", "fgrpo") as "fgrpo" | "grpo" | "gspo";
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(every) || every < 1) throw new Error("--steps and --every must be positive integers");
  const outputDir = mkdtempSync(join(tmpdir(), "fgrpo-soak-"));
  const config = parseConfig({
    ...DEMO_CONFIG,
    output_dir: outputDir,
    rl: { ...DEMO_CONFIG.rl, method, max_steps: steps + 1, warmup_steps: 0, prompts_per_step: 4, num_generations: 4 },
  });
  T.setNumThreads(config.threads, config.blas_threads);
  T.manualSeed(config.seed);
  const task = setupTask(config);
  // As `fgrpo train` sets up: a fresh policy sized for the longest prompt, so every training
  // prompt is encoded up front. (Built here lazily instead, the prompts first sampled in the
  // window grew the JS heap by ~2.4 MB per 1,000 steps: a bench artifact, not a leak.)
  const policy = initialPolicy(config, task);
  const loop = new TrainingLoop({
    phase: "rl", outputDir, params: policy.model.params, settings: config.rl, seed: 1, config,
    saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3,
  });
  const ctx = { policy, reference: null, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop };
  const xs: number[] = [], rss: number[] = [];
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    rlStep(ctx);
    if (step % every === 0 || step === 1) {
      // Diagnostic only (`node --expose-gc`): collect first, so heap_mb is the live JS heap rather
      // than wherever V8's collection cycle happens to be. Changes RSS, so not for the reported series.
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      const a = T.allocatorStats();
      const sample = {
        bench: "soak", step, rss_mb: +(m.rss / MB).toFixed(1), heap_mb: +(m.heapUsed / MB).toFixed(1), external_mb: +(m.external / MB).toFixed(1),
        live_mb: +(a.liveBytes / MB).toFixed(1), cached_mb: +(a.cachedBytes / MB).toFixed(1), large_allocs: a.hits + a.misses, s: +((performance.now() - t0) / 1000).toFixed(1),
      };
      console.log(JSON.stringify(sample));
      xs.push(step);
      rss.push(sample.rss_mb);
    }
  }
  const from = xs.findIndex((x) => x >= Math.min(200, xs[xs.length - 1]!));
  const tailX = xs.slice(from), tailRss = rss.slice(from);
  const lo = Math.min(...tailRss), hi = Math.max(...tailRss);
  console.log(JSON.stringify({
    bench: "soak", summary: true, method, steps, from_step: tailX[0],
    rss_first_mb: tailRss[0], rss_last_mb: tailRss[tailRss.length - 1], rss_min_mb: lo, rss_max_mb: hi,
    slope_mb_per_step: +slope(tailX, tailRss).toFixed(5), spread: +((hi - lo) / lo).toFixed(4), flat_within_5pct: (hi - lo) / lo <= 0.05,
  }));
  loop.dispose();
  disposePolicy(policy);
  rmSync(outputDir, { recursive: true, force: true });
}
