// sft.history_loss_weight: SASRec's causal next-item loss on the prompt's history, computed in the
// SFT forward pass. Checked against a per-prompt, unpadded forward with the cross-entropy over the
// item tokens written out in float64, at positions listed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { LlamaModel, presets } from "../../src/models/index.js";
import { TaskVocab } from "../../src/models/task-vocab.js";
import { historyLossOf, historyNextItemLoss, historyTargetCount, rankHistoryLoss, sftLoss, type HistoryLoss, type SftPair } from "../../src/fgrpo/trainer/sft.js";
import { TaskVocabCodec, type PolicyCodec } from "../../src/fgrpo/trainer/policy-codec.js";
import { HISTORY_LOSS_WEIGHT, historyLossWeightOf, parseConfig } from "../../src/fgrpo/trainer/config.js";
import { InputError } from "../../src/util/errors.js";
import { IncreasingIds } from "../generation/helpers.js";

const OPEN = 5, CLOSE = 6;
const ITEMS = Array.from({ length: 21 }, (_, i) => 30 + i); // ids 30…50
const history: HistoryLoss = { weight: 0.5, openId: OPEN, closeId: CLOSE, itemIds: ITEMS };

/** Cross-entropy of `target` over the item columns of one row of logits, in float64. */
function itemCrossEntropy(row: Float32Array, target: number): number {
  const z = ITEMS.map((id) => row[id]!);
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return lse - row[target]!;
}

test("the history loss is the mean next-item cross-entropy over the items, at the history positions only", () => {
  T.manualSeed(7);
  const model = LlamaModel.init(presets.micro(60, { numLayers: 2 }));
  const small = new IncreasingIds(10, 30, 3);
  const pairs: SftPair[] = [
    // <bos> <HIST> 31 40 3(<unk>) 45 </HIST> 7 | completion
    { prompt: [1, OPEN, 31, 40, 3, 45, CLOSE, 7], completion: [12, 17, 25, 2], constraint: small },
    // one history item: no target
    { prompt: [1, OPEN, 33, CLOSE, 8], completion: [14, 20, 21, 2], constraint: small },
    // a longer row, so the first rows are padded
    { prompt: [1, OPEN, 50, 30, 49, CLOSE, 7, 8, 9, 11], completion: [11, 13, 29, 2], constraint: small },
  ];
  // (row, position t, target prompt[t + 1]): 31→40, 3→45 (an <unk> input still predicts), 50→30, 30→49.
  // 40→<unk> is skipped (the target is no item), and nothing predicts across </HIST>.
  const expected: [number, number, number][] = [[0, 2, 40], [0, 4, 45], [2, 2, 30], [2, 3, 49]];
  const reference = T.tidy(() => {
    const losses = expected.map(([row, t, target]) => {
      const p = pairs[row]!.prompt;
      const logits = model.forward(T.tensor(BigInt64Array.from(p, BigInt), { shape: [1, p.length] }));
      const v = logits.reshape(p.length, 60).toFloat32Array();
      return itemCrossEntropy(v.subarray(t * 60, (t + 1) * 60), target);
    });
    return losses.reduce((a, b) => a + b, 0) / losses.length;
  });
  const got = T.tidy(() => {
    const withHistory = sftLoss(model, pairs, 0, true, true, 0, history);
    const without = sftLoss(model, pairs, 0, true, true, 0, null);
    assert.equal(without.historyLoss, null);
    return { total: withHistory.loss.item(), h: withHistory.historyLoss!.item(), completion: without.loss.item() };
  });
  assert.ok(Math.abs(got.h - reference) < 1e-5, `history loss ${got.h} vs reference ${reference}`);
  assert.ok(Math.abs(got.total - (got.completion + 0.5 * reference)) < 1e-5, `total ${got.total} = completion ${got.completion} + 0.5 × ${reference}`);
  model.dispose();
});

test("the history loss trains the item embeddings: its gradient reaches the head rows of the items only", () => {
  T.manualSeed(8);
  const model = LlamaModel.init(presets.micro(60, { numLayers: 1 }));
  const pairs: SftPair[] = [{ prompt: [1, OPEN, 31, 40, 45, CLOSE, 7], completion: [12, 2] }];
  const head = model.headWeight;
  const grad = T.tidy(() => {
    const width = pairs[0]!.prompt.length + pairs[0]!.completion.length - 1;
    const hidden = model.forward(T.tensor(BigInt64Array.from([...pairs[0]!.prompt, 12], BigInt), { shape: [1, width] }), { hiddenOnly: true });
    const loss = historyNextItemLoss(model, pairs, hidden.reshape(width, 32), width, history)!;
    return T.keep(T.grad(loss, [head])[0]!.abs().sum(1));
  });
  const rows = grad.toFloat32Array();
  grad.dispose();
  for (let id = 0; id < 60; id++) {
    if (id === OPEN || id === 31 || id === 40 || id === 45 || id === CLOSE || id === 1 || id === 7 || id === 12) continue;
    // With a tied head the embedding rows of the prompt's tokens also get gradients; every other
    // non-item row must get none, since the softmax runs over the items only.
    if (!ITEMS.includes(id)) assert.equal(rows[id], 0, `row ${id} (not an item) got a gradient`);
    else assert.ok(rows[id]! > 0, `item row ${id} got no gradient`);
  }
  model.dispose();
});

test("data parallel: ranks' rescaled history terms, weighed by completion tokens, give one process's term and log", () => {
  T.manualSeed(3);
  const model = LlamaModel.init(presets.micro(60, { numLayers: 1 }));
  const small = new IncreasingIds(10, 30, 3);
  const pairs: SftPair[] = [
    { prompt: [1, OPEN, 31, 40, 33, 45, CLOSE, 7], completion: [12, 17, 25, 2], constraint: small }, // 3 targets
    { prompt: [1, OPEN, 33, 34, CLOSE, 8], completion: [14, 20, 21, 2], constraint: small }, // 1 target
    { prompt: [1, OPEN, 50, 30, 49, 31, 32, CLOSE, 7], completion: [11, 13, 29, 2], constraint: small }, // 4 targets
  ];
  const ranks = [[pairs[0]!, pairs[1]!], [pairs[2]!]];
  assert.deepEqual(ranks.map((r) => historyTargetCount(r, history)), [4, 4]);
  // The history part of a loss: with minus without (dropout 0: the same forward).
  const part = (ps: SftPair[], h: HistoryLoss) => T.tidy(() => {
    const withH = sftLoss(model, ps, 0, true, true, 0, h);
    return { term: withH.loss.item() - sftLoss(model, ps, 0, true, true, 0, null).loss.item(), mean: withH.historyLoss!.item() };
  });
  const whole = part(pairs, history);
  const tokens = (ps: SftPair[]) => ps.reduce((n, p) => n + p.completion.length, 0);
  let reduced = 0, logged = 0;
  for (const r of ranks) {
    const ranked = rankHistoryLoss(history, r, pairs, ranks.length);
    const got = part(r, ranked.history);
    reduced += (tokens(r) / tokens(pairs)) * got.term;
    logged += (got.mean * ranked.logScale) / ranks.length;
  }
  assert.ok(Math.abs(reduced - whole.term) < 1e-5, `reduced history term ${reduced} vs one process ${whole.term}`);
  assert.ok(Math.abs(logged - whole.mean) < 1e-5, `logged history_loss ${logged} vs one process ${whole.mean}`);
  // Without the rescaling (each rank's own mean at weight w) the two differ for this split.
  const naive = ranks.reduce((acc, r) => acc + (tokens(r) / tokens(pairs)) * part(r, history).term, 0);
  assert.ok(Math.abs(naive - whole.term) > 1e-3, `the split must matter: ${naive} vs ${whole.term}`);
});

test("historyLossOf: off at weight 0, the tags and item ids of a task vocabulary, a clear error otherwise", () => {
  const vocab = new TaskVocab(["<HIST>", "</HIST>", "[1]", "item:a", "<POOL>", "item:b"]);
  const codec = new TaskVocabCodec(parseConfig({}), vocab);
  const withWeight = (w: number | null, task: "rec" | "qa" = "rec") => parseConfig({ task: { task }, sft: { history_loss_weight: w } });
  assert.equal(historyLossOf(withWeight(0), codec), null);
  assert.deepEqual(historyLossOf(withWeight(2), codec), { weight: 2, openId: vocab.id("<HIST>"), closeId: vocab.id("</HIST>"), itemIds: [vocab.id("item:a"), vocab.id("item:b")] });
  const text = { kind: "text" } as unknown as PolicyCodec;
  assert.throws(() => historyLossOf(withWeight(1), text), (e: unknown) => e instanceof InputError && /task-vocabulary/.test(e.message));
  assert.throws(() => parseConfig({ task: { task: "qa" }, sft: { history_loss_weight: 1 } }), (e: unknown) => e instanceof InputError && /rec task/.test(e.message));
  assert.throws(() => parseConfig({ sft: { history_loss_weight: -1 } }), InputError);
});

test("the history-loss default (null) is on for rec with a task vocabulary and off for QA and text models", () => {
  const vocab = new TaskVocab(["<HIST>", "</HIST>", "[1]", "item:a", "<POOL>", "item:b"]);
  const rec = parseConfig({});
  assert.equal(rec.sft.history_loss_weight, null);
  assert.equal(historyLossOf(rec, new TaskVocabCodec(rec, vocab))?.weight, HISTORY_LOSS_WEIGHT);
  assert.ok(HISTORY_LOSS_WEIGHT > 0);
  // A rec config on a text model (configs/text-demo.json's shape): valid, and trains without it.
  const text = { kind: "text" } as unknown as PolicyCodec;
  assert.equal(historyLossOf(rec, text), null);
  assert.equal(historyLossWeightOf(rec, false), 0);
  // QA: the default parses (no "needs a rec task" error) and resolves to off on either codec.
  const qa = parseConfig({ task: { task: "qa" } });
  assert.equal(historyLossOf(qa, new TaskVocabCodec(qa, new TaskVocab(["[1]", "<POOL>"]))), null);
  assert.equal(historyLossOf(qa, text), null);
  assert.equal(historyLossWeightOf(qa, true), 0);
});
