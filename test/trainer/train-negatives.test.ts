import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";

const poolIds = (e: { example: { pool: readonly { id: string }[] } }) => e.example.pool.map((c) => c.id).sort().join(" ");

test("task.train_negatives changes the training pools only; evaluation pools keep task.negatives", () => {
  const cfg = (train_negatives?: string) => parseConfig({ seed: 0, task: { task: "rec", train_examples: 400, ...(train_negatives ? { train_negatives } : {}) } });
  const plain = setupTask(cfg());
  const mixed = setupTask(cfg("popularity:10,random:9"));
  // Same users, same targets, same evaluation pools.
  assert.deepEqual(mixed.train.map((e) => e.example.id), plain.train.map((e) => e.example.id));
  assert.deepEqual(mixed.evalExamples("valid", 100).map(poolIds), plain.evalExamples("valid", 100).map(poolIds));
  assert.deepEqual(mixed.evalExamples("test", 100).map(poolIds), plain.evalExamples("test", 100).map(poolIds));
  // Training pools differ, and their negatives are more popular: 10 of 19 are drawn ∝ training counts.
  const counts = new Map<string, number>();
  for (const seq of plain.data.baselineInputs("train").trainSequences ?? []) for (const i of seq) counts.set(i, (counts.get(i) ?? 0) + 1);
  const meanNegCount = (setup: typeof plain) => {
    let sum = 0, n = 0;
    for (const e of setup.train) for (const c of e.example.pool) if (!e.example.relevant.has(c.id)) { sum += counts.get(c.id) ?? 0; n++; }
    return sum / n;
  };
  const changed = mixed.train.filter((e, i) => poolIds(e) !== poolIds(plain.train[i]!)).length;
  assert.ok(changed > 390, `training pools re-drawn: ${changed} of ${mixed.train.length}`);
  const [r, p] = [meanNegCount(plain), meanNegCount(mixed)];
  assert.ok(p > 2 * r, `mean training count of negatives: random ${r.toFixed(1)}, mixed ${p.toFixed(1)}`);
  // Every training pool still holds its target once and 20 distinct candidates.
  for (const e of mixed.train) {
    assert.equal(new Set(e.example.pool.map((c) => c.id)).size, 20);
    assert.equal(e.example.pool.filter((c) => e.example.relevant.has(c.id)).length, 1);
  }
});

test("task.train_negatives: a bad strategy is refused naming the field", () => {
  assert.throws(() => parseConfig({ task: { train_negatives: "hardest" } }), /task\.train_negatives.*negatives must be/s);
  assert.throws(() => parseConfig({ task: { train_negatives: "popularity:x" } }), /task\.train_negatives/);
  assert.equal(parseConfig({}).task.train_negatives, null);
});
