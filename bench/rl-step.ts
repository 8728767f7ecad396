/**
 * `npm run bench -- rl-step [--steps=N]`: one RL step of the demo configuration (16 prompts × 8
 * rollouts, constrained decoding, on the bundled Games data) for each method, split into
 * generation, scoring and update. Prints one JSON line per method (median over the steps).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../src/torch/index.js";
import { parseConfig } from "../src/fgrpo/trainer/config.js";
import { setupTask } from "../src/fgrpo/trainer/data.js";
import { createPolicy, disposePolicy } from "../src/fgrpo/trainer/policy.js";
import { TrainingLoop } from "../src/fgrpo/trainer/loop.js";
import { rewardConfigOf, rlStep } from "../src/fgrpo/trainer/rl-step.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function run(args: string[]): void {
  const steps = Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 5);
  for (const method of ["fgrpo", "grpo", "gspo"] as const) {
    const config = parseConfig({ ...DEMO_CONFIG, output_dir: mkdtempSync(join(tmpdir(), "fgrpo-bench-")), rl: { ...DEMO_CONFIG.rl, method, max_steps: steps + 1, warmup_steps: 0 } });
    T.setNumThreads(config.threads, config.blas_threads);
    T.manualSeed(config.seed);
    const task = setupTask(config);
    const policy = createPolicy(config, task.vocab, 512);
    const loop = new TrainingLoop({
      phase: "rl", outputDir: config.output_dir, params: policy.model.params, settings: config.rl, seed: 1, config,
      saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3,
    });
    const ctx = { policy, reference: null, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop };
    rlStep(ctx); // warm-up
    const records = Array.from({ length: steps }, () => rlStep(ctx));
    const pick = (k: string) => median(records.map((r) => r[k] as number));
    const rollouts = config.rl.prompts_per_step * config.rl.num_generations;
    const total = pick("ms_generation") + pick("ms_scoring") + pick("ms_update");
    console.log(JSON.stringify({
      bench: "rl-step", isa: T.buildInfo().isa, method, prompts: config.rl.prompts_per_step, generations: config.rl.num_generations,
      ms_generation: Math.round(pick("ms_generation")), ms_scoring: Math.round(pick("ms_scoring")), ms_update: Math.round(pick("ms_update")),
      rollouts_per_s: Math.round((rollouts / (total / 1000)) * 10) / 10,
    }));
    loop.dispose();
    disposePolicy(policy);
  }
}
