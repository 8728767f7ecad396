// The schema defaults are the recipe validation chose on rec (docs/results.md, sections 4–5 and
// 8.3): co-occurrence item init, the history loss, and SFT dropout 0.5. They must switch
// themselves on for a rec run on a task vocabulary and stay out of the way of QA, whose configs
// keep working with no new fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_LOSS_WEIGHT, SFT_DROPOUT, parseConfig, sftDropoutOf } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

function tinyRun(task: "rec" | "qa", sft: Record<string, unknown> = {}): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), `fgrpo-defaults-${task}-`));
  const config = parseConfig({
    seed: 0, threads: 1, blas_threads: 1, output_dir: dir,
    task: { task, train_examples: 64, eval_examples: 8 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 3, batch_size: 8, warmup_steps: 1, ...sft },
    rl: { max_steps: 0 },
  });
  assert.equal(config.model.item_embedding_init, "cooccurrence");
  assert.equal(config.sft.history_loss_weight, null);
  assert.equal(config.sft.learning_rate, 1e-3);
  runTraining(config, { quiet: true, log: () => {} });
  return readFileSync(join(dir, "sft", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.phase === "sft" && typeof r.loss === "number");
}

test("rec with the defaults trains with the history loss; QA with the same defaults trains without it", () => {
  assert.ok(HISTORY_LOSS_WEIGHT > 0);
  const rec = tinyRun("rec");
  assert.equal(rec.length, 3);
  for (const r of rec) assert.ok(typeof r.history_loss === "number" && Number.isFinite(r.history_loss), `rec step logs a history loss: ${JSON.stringify(r)}`);
  const qa = tinyRun("qa");
  assert.equal(qa.length, 3);
  for (const r of qa) {
    assert.ok(Number.isFinite(r.loss as number));
    assert.equal(r.history_loss, undefined, "QA has no history loss");
  }
});

test("sft.dropout null is SFT_DROPOUT for rec on a task vocabulary and 0 for QA and text models; the run applies it", () => {
  assert.equal(parseConfig({}).sft.dropout, null);
  assert.equal(sftDropoutOf(parseConfig({}), true), SFT_DROPOUT);
  assert.equal(sftDropoutOf(parseConfig({}), false), 0, "a text model is fine-tuned without dropout");
  assert.equal(sftDropoutOf(parseConfig({ task: { task: "qa" } }), true), 0);
  assert.equal(sftDropoutOf(parseConfig({ sft: { dropout: 0.1 } }), false), 0.1, "a set value holds everywhere");
  // Wired into training: the first step's loss (same weights, same batch) moves with dropout on rec
  // and not on QA.
  const first = (task: "rec" | "qa", sft: Record<string, unknown> = {}) => tinyRun(task, sft)[0]!.loss as number;
  assert.notEqual(first("rec"), first("rec", { dropout: 0 }), "rec default drops");
  assert.equal(first("rec", { dropout: SFT_DROPOUT }), first("rec"), "and drops exactly SFT_DROPOUT");
  assert.equal(first("qa"), first("qa", { dropout: 0 }), "QA default does not");
});
