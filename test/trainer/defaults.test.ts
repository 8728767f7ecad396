// The schema defaults are the recipe validation chose on rec (docs/results.md, sections 4–5):
// co-occurrence item init and the history loss. They must switch themselves on for a rec run on a
// task vocabulary and stay out of the way of QA, whose configs keep working with no new fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_LOSS_WEIGHT, parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

function tinyRun(task: "rec" | "qa"): Record<string, unknown>[] {
  const dir = mkdtempSync(join(tmpdir(), `fgrpo-defaults-${task}-`));
  const config = parseConfig({
    seed: 0, threads: 1, blas_threads: 1, output_dir: dir,
    task: { task, train_examples: 64, eval_examples: 8 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 3, batch_size: 8, warmup_steps: 1 },
    rl: { max_steps: 0 },
  });
  assert.equal(config.model.item_embedding_init, "cooccurrence");
  assert.equal(config.sft.history_loss_weight, null);
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
