// A run killed at any point resumes from its last checkpoint and reaches exactly the metrics of
// an uninterrupted run with the same seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

const TIMING = new Set(["ms_generation", "ms_scoring", "ms_update", "rollout_tokens_per_s", "rollouts_per_s"]);

function tinyConfig(dir: string) {
  return parseConfig({
    name: "resume",
    seed: 3,
    threads: 1,
    blas_threads: 1,
    output_dir: dir,
    task: { train_examples: 400, eval_examples: 24 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 12, batch_size: 8, warmup_steps: 2, save_every: 4, eval_every: 6 },
    rl: { max_steps: 6, prompts_per_step: 4, num_generations: 4, warmup_steps: 1, save_every: 2, eval_every: 3, num_iterations: 2, num_minibatches: 2 },
  });
}

function metricLines(dir: string, phase: string): unknown[] {
  return readFileSync(join(dir, phase, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    for (const k of TIMING) delete r[k];
    return r;
  });
}

for (const stop of [{ phase: "sft" as const, step: 5 }, { phase: "rl" as const, step: 3 }]) {
  test(`a run interrupted after ${stop.phase} step ${stop.step} resumes to the same metrics`, () => {
    const a = mkdtempSync(join(tmpdir(), "fgrpo-resume-a-"));
    const b = mkdtempSync(join(tmpdir(), "fgrpo-resume-b-"));
    const full = runTraining(tinyConfig(a), { quiet: true, log: () => {} });
    assert.equal(full.interrupted, false);
    const cut = runTraining(tinyConfig(b), { quiet: true, log: () => {}, stopAfter: stop });
    assert.equal(cut.interrupted, true);
    const resumed = runTraining(tinyConfig(b), { quiet: true, log: () => {} });
    assert.equal(resumed.interrupted, false);
    assert.deepEqual(resumed.rl!.means, full.rl!.means);
    assert.deepEqual(readFileSync(join(b, "results.json"), "utf8"), readFileSync(join(a, "results.json"), "utf8"));
    assert.deepEqual(metricLines(b, "sft"), metricLines(a, "sft"));
    assert.deepEqual(metricLines(b, "rl"), metricLines(a, "rl"));
  });
}

test("resuming with a different config is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-resume-c-"));
  runTraining(tinyConfig(dir), { quiet: true, log: () => {}, stopAfter: { phase: "sft", step: 4 } });
  const changed = parseConfig({ ...tinyConfig(dir), rl: { ...tinyConfig(dir).rl, learning_rate: 0.1 } });
  assert.throws(() => runTraining(changed, { quiet: true, log: () => {} }), /different config/);
});
