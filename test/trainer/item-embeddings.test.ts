// Co-occurrence initialisation of item embeddings: items bought by the same users start closer
// than items never bought together, only vocabulary items get rows, and the seed fixes the result.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskVocab } from "../../src/models/task-vocab.js";
import { cooccurrenceEmbeddings } from "../../src/fgrpo/trainer/item-embeddings.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

test("co-occurring items start with larger dot products than items never seen together", () => {
  // Two clusters: {a, b, c} and {x, y, z}; "q" is outside the vocabulary.
  const sequences = [["a", "b"], ["a", "c"], ["b", "c", "a"], ["x", "y"], ["y", "z"], ["x", "z", "q"], ["a", "b", "c"]];
  const vocab = new TaskVocab(["a", "b", "c", "x", "y", "z"].map((i) => `item:${i}`));
  const rows = cooccurrenceEmbeddings(sequences, vocab, 64, 3, 1);
  assert.equal(rows.size, 6, "one row per vocabulary item (q has no token)");
  const e = (i: string) => rows.get(vocab.id(`item:${i}`))!;
  for (const [i, j] of [["a", "b"], ["a", "c"], ["x", "y"], ["y", "z"]]) {
    for (const k of ["x", "y", "z"]) if (!["x", "y", "z"].includes(i!)) assert.ok(dot(e(i!), e(j!)) > dot(e(i!), e(k)), `${i}·${j} > ${i}·${k}`);
  }
  assert.ok(dot(e("x"), e("y")) > dot(e("x"), e("a")));
  const meanNorm = [...rows.values()].reduce((s, r) => s + Math.hypot(...r), 0) / rows.size;
  assert.ok(Math.abs(meanNorm - 1) < 1e-5, `mean row norm ${meanNorm}`);
  assert.deepEqual(cooccurrenceEmbeddings(sequences, vocab, 64, 3, 1), rows, "same seed, same rows");
});

test("model.item_embedding_init accepts random and cooccurrence only; cooccurrence is the default, valid for QA too", () => {
  assert.equal(parseConfig({}).model.item_embedding_init, "cooccurrence");
  assert.equal(parseConfig({ task: { task: "qa" } }).model.item_embedding_init, "cooccurrence");
  assert.throws(() => parseConfig({ model: { item_embedding_init: "svd" } }, "c.json"), /field "model\.item_embedding_init"/);
});
