// A run killed at any point resumes from its last checkpoint and reaches exactly the metrics of
// an uninterrupted run with the same seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

// A folder written before a config field with a default existed (here: task.eval_sample) resumes
// under that default, as it ran; the comparison goes through the schema on both sides.
test("a run written before a defaulted config field existed resumes to the same metrics", () => {
  const a = mkdtempSync(join(tmpdir(), "fgrpo-resume-d-"));
  const b = mkdtempSync(join(tmpdir(), "fgrpo-resume-e-"));
  runTraining(tinyConfig(a), { quiet: true, log: () => {} });
  runTraining(tinyConfig(b), { quiet: true, log: () => {}, stopAfter: { phase: "sft", step: 5 } });
  const strip = (file: string, at: (j: Record<string, unknown>) => Record<string, unknown>) => {
    const j = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const task = at(j).task as Record<string, unknown>;
    assert.equal(task.eval_sample, "head");
    delete task.eval_sample;
    writeFileSync(file, JSON.stringify(j, null, 1));
  };
  strip(join(b, "config.json"), (j) => j);
  const states = readdirSync(b, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("trainer_state.json"));
  assert.ok(states.length > 0);
  for (const f of states) strip(join(b, f), (j) => j.config as Record<string, unknown>);
  const resumed = runTraining(tinyConfig(b), { quiet: true, log: () => {} });
  assert.equal(resumed.interrupted, false);
  assert.deepEqual(metricLines(b, "sft"), metricLines(a, "sft"));
  assert.deepEqual(metricLines(b, "rl"), metricLines(a, "rl"));
  // A stored value the schema rejects is a different config, not a crash.
  const c = mkdtempSync(join(tmpdir(), "fgrpo-resume-f-"));
  runTraining(tinyConfig(c), { quiet: true, log: () => {}, stopAfter: { phase: "sft", step: 4 } });
  const stored = JSON.parse(readFileSync(join(c, "config.json"), "utf8")) as { task: Record<string, unknown> };
  stored.task.eval_sample = "first";
  writeFileSync(join(c, "config.json"), JSON.stringify(stored, null, 1));
  assert.throws(() => runTraining(tinyConfig(c), { quiet: true, log: () => {} }), /different config/);
});
