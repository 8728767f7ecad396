// Weight averaging (sft.ema_decay): the average follows its formula, leaves training untouched,
// is what validation, the best checkpoint and the final model hold, and resumes exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { ParameterEma } from "../../src/fgrpo/trainer/ema.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { runDecoupled } from "../../src/fgrpo/trainer/decoupled.js";

const values = (t: T.Tensor) => Array.from(t.toFloat32Array());

test("the EMA update matches shadow ← d·shadow + (1 − d)·θ with d = min(decay, (1 + n)/(10 + n)), in float64", () => {
  T.manualSeed(11);
  const params = new Map([["a", T.randn([3, 4])], ["b", T.randn([5])]]);
  const decay = 0.8;
  const ema = new ParameterEma(decay, params);
  // Float64 reference, started (like the average) at the initial parameters.
  const ref = new Map([...params].map(([k, p]) => [k, values(p)]));
  let sumAbs = 0;
  for (let n = 0; n < 40; n++) {
    // A new θ each step, as an optimizer update would make.
    T.noGrad(() => {
      for (const p of params.values()) p.copy_(T.randn(p.shape));
    });
    const d = Math.min(decay, (1 + n) / (10 + n));
    assert.equal(ema.decayAt(n), d);
    for (const [k, p] of params) {
      const theta = values(p);
      ref.set(k, ref.get(k)!.map((s, i) => d * s + (1 - d) * theta[i]!));
      sumAbs = Math.max(sumAbs, ...theta.map(Math.abs));
    }
    ema.update();
  }
  assert.equal(ema.updates, 40);
  // The warm-up is active early (d = 0.1 at n = 0) and capped by decay later (n ≥ 31).
  assert.equal(ema.decayAt(0), 0.1);
  assert.equal(ema.decayAt(35), decay);
  const got = ema.stateDict().tensors;
  // Each float32 update rounds at most a few times (ulp 2^-24 relative to |values| ≤ sumAbs),
  // and the average contracts old errors by d < 1: the error stays below 40 · 4 · 2^-24 · max|θ|.
  const tol = 40 * 4 * 2 ** -24 * sumAbs;
  for (const [k, r] of ref) {
    const g = values(got.get(k)!);
    r.forEach((x, i) => assert.ok(Math.abs(g[i]! - x) <= tol, `${k}[${i}]: ${g[i]} vs ${x} (tol ${tol})`));
  }
  // withAveraged puts the average in for its callback and restores the trained weights bit for bit.
  const trained = new Map([...params].map(([k, p]) => [k, values(p)]));
  const seen = ema.withAveraged(() => values(params.get("a")!));
  assert.deepEqual(seen, values(got.get("a")!));
  for (const [k, p] of params) assert.deepEqual(values(p), trained.get(k));
  ema.apply();
  for (const [k, p] of params) assert.deepEqual(values(p), values(got.get(k)!));
  ema.dispose();
});

test("an EMA decay outside (0, 1) is refused with the field's name", () => {
  for (const d of [0, 1, 1.5]) assert.throws(() => parseConfig({ sft: { ema_decay: d } }, "c.json"), /field "sft\.ema_decay"/);
  assert.equal(parseConfig({}).sft.ema_decay, null);
});

function config(dir: string, sft: Record<string, unknown>) {
  return parseConfig({
    seed: 5,
    threads: 1,
    blas_threads: 1,
    output_dir: dir,
    task: { train_examples: 300, eval_examples: 24 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 12, batch_size: 8, warmup_steps: 1, eval_every: 4, save_every: 4, learning_rate: 0.03, dropout: 0.1, ...sft },
    rl: { max_steps: 0 },
  });
}

type Line = Record<string, unknown>;
function lines(dir: string): Line[] {
  return readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
}

function weights(file: string): Map<string, number[]> {
  return new Map([...T.loadSafetensors(file).tensors].map(([k, t]) => [k, values(t)]));
}

const quiet = { quiet: true, log: () => {} };

test("the average leaves training bit-for-bit unchanged, is what validation scores, and is the final model", () => {
  const off = mkdtempSync(join(tmpdir(), "fgrpo-ema-off-"));
  const on = mkdtempSync(join(tmpdir(), "fgrpo-ema-on-"));
  runTraining(config(off, {}), quiet);
  const r = runTraining(config(on, { ema_decay: 0.7 }), quiet);
  const offLines = lines(off), onLines = lines(on);
  const training = (ls: Line[]) => ls.filter((l) => l.validation === undefined);
  // Same losses, gradient norms and accuracies at every step: averaging draws no random numbers
  // and never touches the trained weights between steps.
  assert.deepEqual(training(onLines), training(offLines));
  const vals = (ls: Line[]) => ls.filter((l) => l.validation !== undefined).map((l) => l.validation as Record<string, number>);
  assert.equal(vals(onLines).length, 3);
  assert.notDeepEqual(vals(onLines), vals(offLines), "validation scores the average, not the trained weights");
  assert.deepEqual(r.sft!.means, vals(onLines).at(-1));
  // Checkpoints carry the average only when it is on.
  const last = (dir: string) => join(dir, "sft", "checkpoints", "step-000012");
  assert.equal(existsSync(join(last(off), "ema.safetensors")), false);
  const avg = weights(join(last(on), "ema.safetensors"));
  // The step checkpoint keeps the trained weights (to resume training); the final model is the average.
  const trained = weights(join(last(on), "model", "model.safetensors"));
  const final = weights(join(r.finalModel, "model.safetensors"));
  let differs = false;
  for (const [k, a] of avg) {
    assert.deepEqual(final.get(k), a, k);
    differs ||= a.some((x, i) => x !== trained.get(k)![i]);
  }
  assert.ok(differs, "the average differs from the trained weights");
});

test("the best checkpoint holds the average, and load_best_model_at_end returns it", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-ema-best-"));
  const r = runTraining(config(dir, { ema_decay: 0.7, load_best_model_at_end: true, max_steps: 16 }), quiet);
  const vals = lines(dir).filter((l) => l.validation !== undefined);
  const best = vals.reduce((b, l) => ((l.validation as Record<string, number>)["ndcg@5"]! > (b.validation as Record<string, number>)["ndcg@5"]! ? l : b));
  assert.deepEqual(r.sft!.means, best.validation);
  const bestModel = weights(join(dir, "sft", "checkpoints", "best", "model", "model.safetensors"));
  const final = weights(join(r.finalModel, "model.safetensors"));
  assert.deepEqual(final, bestModel);
  // When the best step's checkpoint is still on disk, its average is the best model.
  const stepDir = join(dir, "sft", "checkpoints", `step-${String(best.step).padStart(6, "0")}`);
  if (existsSync(stepDir)) assert.deepEqual(weights(join(stepDir, "ema.safetensors")), bestModel);
});

test("a run with weight averaging interrupted mid-SFT resumes to the uninterrupted run's metrics and model", () => {
  const a = mkdtempSync(join(tmpdir(), "fgrpo-ema-resume-a-"));
  const b = mkdtempSync(join(tmpdir(), "fgrpo-ema-resume-b-"));
  const full = runTraining(config(a, { ema_decay: 0.7 }), quiet);
  // Stopped after step 6: the newest checkpoint is step 4, so steps 5–6 are redone from its average.
  assert.equal(runTraining(config(b, { ema_decay: 0.7 }), { ...quiet, stopAfter: { phase: "sft", step: 6 } }).interrupted, true);
  const resumed = runTraining(config(b, { ema_decay: 0.7 }), quiet);
  assert.deepEqual(lines(b), lines(a));
  assert.deepEqual(resumed.sft!.means, full.sft!.means);
  assert.deepEqual(weights(join(resumed.finalModel, "model.safetensors")), weights(join(full.finalModel, "model.safetensors")));
});

test("the decoupled pipelines' SFT models are their averages too", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-ema-decoupled-"));
  const cfg = config(dir, { ema_decay: 0.7, max_steps: 6, eval_every: 0, save_every: 0 });
  const task = setupTask(cfg);
  runDecoupled("decoupled-sft", cfg, task, task.evalExamples("valid", 4), quiet);
  for (const stage of ["ranker", "selector"]) {
    const avg = weights(join(dir, stage, "checkpoints", "step-000006", "ema.safetensors"));
    const final = weights(join(dir, `${stage}-final`, "model.safetensors"));
    for (const [k, a] of avg) assert.deepEqual(final.get(k), a, `${stage} ${k}`);
  }
});
