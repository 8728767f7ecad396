// SFT to convergence on validation: dropout is a training-only perturbation, early stopping stops
// once validation stops improving, and load_best_model_at_end hands RL the best checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { LlamaModel, presets } from "../../src/models/index.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

test("dropout changes only training forwards: p = 0 is the plain forward, p > 0 perturbs it", () => {
  T.manualSeed(7);
  const model = LlamaModel.init(presets.micro(40, { numLayers: 2 }));
  const ids = T.tensor(BigInt64Array.from([1n, 5n, 9n, 3n, 7n, 2n]), { shape: [2, 3] });
  T.noGrad(() => {
    const plain = model.forward(ids), zero = model.forward(ids, { dropout: 0 }), dropped = model.forward(ids, { dropout: 0.5 });
    assert.equal(plain.sub(zero).abs().max().item(), 0);
    assert.ok(plain.sub(dropped).abs().max().item() > 1e-3, "p = 0.5 changes the logits");
  });
  model.dispose();
});

function config(dir: string, sft: Record<string, unknown>) {
  return parseConfig({
    seed: 4,
    threads: 1,
    blas_threads: 1,
    output_dir: dir,
    task: { train_examples: 300, eval_examples: 24 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { batch_size: 8, warmup_steps: 1, eval_every: 2, learning_rate: 0.03, dropout: 0.1, ...sft },
    rl: { max_steps: 0 },
  });
}

function validations(dir: string): { step: number; value: number }[] {
  return readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.validation !== undefined)
    .map((r) => ({ step: r.step as number, value: (r.validation as Record<string, number>)["ndcg@5"]! }));
}

test("early stopping stops after `patience` validations without a new best; load_best_model_at_end returns the best", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-early-"));
  const r = runTraining(config(dir, { max_steps: 40, early_stopping_patience: 2, load_best_model_at_end: true }), { quiet: true, log: () => {} });
  const vals = validations(dir);
  // The rule replayed on the logged validations: stop at the second validation in a row that
  // does not beat the best so far (strictly).
  let bestIndex = 0, stopIndex = -1;
  for (let i = 1; i < vals.length && stopIndex < 0; i++) {
    if (vals[i]!.value > vals[bestIndex]!.value) bestIndex = i;
    else if (i - bestIndex >= 2) stopIndex = i;
  }
  assert.ok(stopIndex > 0, `the high learning rate on 300 prompts stops improving within 40 steps (${vals.map((v) => v.value.toFixed(3)).join(" ")})`);
  assert.equal(vals.length, stopIndex + 1, "no validation after the stop");
  assert.ok(vals[stopIndex]!.step < 40);
  const best = vals[bestIndex]!;
  // The SFT result and the saved final model are the best checkpoint's.
  assert.equal(r.sft!.means["ndcg@5"], best.value);
  const finalW = T.loadSafetensors(join(r.finalModel, "model.safetensors")).tensors;
  const bestW = T.loadSafetensors(join(dir, "sft", "checkpoints", "best", "model", "model.safetensors")).tensors;
  for (const [name, t] of finalW) assert.equal(t.sub(bestW.get(name)!).abs().max().item(), 0, name);
});

test("early stopping needs validations", () => {
  assert.throws(() => parseConfig({ sft: { early_stopping_patience: 2, eval_every: 0 } }, "c.json"), /field "sft\.early_stopping_patience"/);
});
