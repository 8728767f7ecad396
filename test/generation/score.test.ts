import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { LlamaModel, presets } from "../../src/models/index.js";
import { generate, scoreCompletions, sampleRow } from "../../src/generation/index.js";
import { IncreasingIds } from "./helpers.js";

function maxDiff(a: T.Tensor, b: T.Tensor): number {
  return a.sub(b).abs().max().item();
}

test("shared-prefix scoring equals unshared: log-probs, entropies and gradients within 1e-5", () => {
  T.manualSeed(21);
  const model = LlamaModel.init(presets.micro(48, { numLayers: 2 }));
  const prompts = [[1, 5, 6, 7, 8, 9], [1, 30], [1, 11, 12]];
  const constraint = new IncreasingIds(10, 40, 3);
  const gen = generate(model, prompts, { maxNewTokens: 6, numGenerations: 3, temperature: 1.3, seed: 2, constraint });
  const groupOf = gen.completions.map((_, i) => Math.floor(i / 3));
  // Ragged completions: drop the last token of a few so padding is exercised.
  const completions = gen.completions.map((c, i) => (i % 4 === 1 ? c.slice(0, -2) : c));
  const params = [...model.params.values()];
  const run = (sharedPrefix: boolean) => {
    const s = scoreCompletions(model, prompts, completions, { groupOf, constraint, temperature: 1.3, sharedPrefix });
    const loss = s.logprobs.mul(T.randn(s.logprobs.shape)).sum().add(s.entropy.sum().mul(0.1));
    return { s, grads: T.grad(loss, params) };
  };
  T.manualSeed(0);
  const shared = run(true);
  T.manualSeed(0);
  const unshared = run(false);
  assert.ok(maxDiff(shared.s.logprobs, unshared.s.logprobs) < 1e-5);
  assert.ok(maxDiff(shared.s.entropy, unshared.s.entropy) < 1e-5);
  assert.equal(maxDiff(shared.s.mask, unshared.s.mask), 0);
  shared.grads.forEach((g, i) => assert.ok(maxDiff(g!, unshared.grads[i]!) < 1e-5, `gradient of parameter ${i}`));
  // The sampler's log-probs are the scorer's.
  const lp = shared.s.logprobs;
  const width = lp.size(1);
  const flat = lp.toArray();
  gen.logprobs.forEach((row, i) => {
    if (i % 4 === 1) return;
    row.forEach((x, j) => assert.ok(Math.abs(x - flat[i * width + j]!) < 1e-5));
  });
  assert.deepEqual(shared.s.mask.sum(1).toArray(), completions.map((c) => c.length));
  model.dispose();
});

test("shared-prefix scoring of completions of some prompts only (an RL minibatch) equals unshared scoring: log-probs and gradients", () => {
  T.manualSeed(23);
  const model = LlamaModel.init(presets.micro(48, { numLayers: 2 }));
  // Prompts of different lengths; the completions continue prompts 1 and 3 only, so the shared
  // form runs two of the four prompts (the longest, prompt 0, is not among them: padding differs).
  const prompts = [[1, 5, 6, 7, 8, 9, 4], [1, 30], [1, 11, 12], [1, 13, 14, 15]];
  const constraint = new IncreasingIds(10, 40, 3);
  const gen = generate(model, prompts, { maxNewTokens: 5, numGenerations: 2, temperature: 1.1, seed: 3, constraint });
  const rows = [2, 3, 6, 7];
  const groupOf = rows.map((i) => Math.floor(i / 2));
  const completions = rows.map((i, j) => (j === 1 ? gen.completions[i]!.slice(0, -1) : gen.completions[i]!));
  const params = [...model.params.values()];
  const weights = T.randn([completions.length, Math.max(...completions.map((c) => c.length))]);
  const run = (sharedPrefix: boolean) => {
    const s = scoreCompletions(model, prompts, completions, { groupOf, constraint, temperature: 1.1, sharedPrefix });
    return { s, grads: T.grad(s.logprobs.mul(weights).sum(), params) };
  };
  const shared = run(true), unshared = run(false);
  assert.ok(maxDiff(shared.s.logprobs, unshared.s.logprobs) < 1e-5);
  assert.ok(maxDiff(shared.s.entropy, unshared.s.entropy) < 1e-5);
  shared.grads.forEach((g, i) => assert.ok(maxDiff(g!, unshared.grads[i]!) < 1e-5, `gradient of parameter ${i}`));
  // And the sampler's log-probs (sampled with all four prompts in the batch) are the scorer's.
  const width = shared.s.logprobs.size(1);
  const flat = shared.s.logprobs.toArray();
  rows.forEach((r, j) => completions[j]!.forEach((_, t) => assert.ok(Math.abs(gen.logprobs[r]![t]! - flat[j * width + t]!) < 1e-5)));
  model.dispose();
});

test("constrained scoring over the allowed tokens only equals the whole-vocabulary form: log-probs, entropies, gradients", () => {
  T.manualSeed(22);
  const model = LlamaModel.init(presets.micro(48, { numLayers: 2 }));
  const prompts = [[1, 5, 6], [1, 30, 31, 32]];
  const constraint = new IncreasingIds(10, 40, 3);
  const gen = generate(model, prompts, { maxNewTokens: 6, numGenerations: 3, temperature: 0.9, seed: 5, constraint });
  // Ragged completions and an empty one: unions of allowed tokens of different sizes, padded.
  const completions = gen.completions.map((c, i) => (i === 2 ? [] : i % 2 === 1 ? c.slice(0, 2) : c));
  const groupOf = completions.map((_, i) => Math.floor(i / 3));
  const params = [...model.params.values()];
  const width = Math.max(...completions.map((c) => c.length));
  const weights = T.randn([completions.length, width]);
  const run = (restrictToAllowed: boolean) => {
    const s = scoreCompletions(model, prompts, completions, { groupOf, constraint, temperature: 0.9, restrictToAllowed });
    const loss = s.logprobs.mul(weights).sum().add(s.entropy.sum().mul(0.3));
    return { s, grads: T.grad(loss, params) };
  };
  const restricted = run(true), whole = run(false);
  assert.ok(maxDiff(restricted.s.logprobs, whole.s.logprobs) < 1e-5);
  assert.ok(maxDiff(restricted.s.entropy, whole.s.entropy) < 1e-5);
  assert.equal(maxDiff(restricted.s.mask, whole.s.mask), 0);
  assert.ok(restricted.s.entropy.isFinite().all().item() && restricted.s.logprobs.isFinite().all().item());
  restricted.grads.forEach((g, i) => {
    assert.ok(g!.isFinite().all().item(), `gradient of parameter ${i} is finite`);
    assert.ok(maxDiff(g!, whole.grads[i]!) < 1e-5, `gradient of parameter ${i}`);
  });
  model.dispose();
});

test("entropy is that of the masked, temperature-scaled distribution", () => {
  T.manualSeed(4);
  const model = LlamaModel.init(presets.micro(20));
  const constraint = new IncreasingIds(10, 12, 1);
  const s = scoreCompletions(model, [[1, 3]], [[11, 2]], { constraint, temperature: 0.7 });
  const logits = T.tidy(() => T.noGrad(() => model.forward(T.tensor([[1, 3]], { dtype: "int64" })).select(1, 1).toFloat32Array()));
  const allowed = [10, 11, 12].map((t) => logits[t]! / 0.7);
  const z = Math.log(allowed.reduce((a, x) => a + Math.exp(x), 0));
  const h = -allowed.reduce((a, x) => a + Math.exp(x - z) * (x - z), 0);
  assert.ok(Math.abs(s.entropy.toArray()[0]! - h) < 1e-5);
  assert.ok(Math.abs(s.entropy.toArray()[1]!) < 1e-6, "one allowed token (EOS): zero entropy");
  assert.ok(Math.abs(s.logprobs.toArray()[0]! - (logits[11]! / 0.7 - z)) < 1e-5);
  model.dispose();
});

test("top-k and top-p sample only from the kept set; log-probs are renormalised over it", () => {
  const row = Float32Array.from([0, 1, 2, 3, -Infinity]);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 1000; i++) counts[sampleRow(row.slice(), { topK: 2 }, i / 1000).token]!++;
  assert.deepEqual(counts.slice(0, 2), [0, 0]);
  assert.equal(counts[4], 0);
  const p3 = Math.exp(3) / (Math.exp(2) + Math.exp(3));
  assert.ok(Math.abs(counts[3]! / 1000 - p3) < 0.01);
  const s = sampleRow(row.slice(), { topK: 2 }, 0.99);
  assert.equal(s.token, 2);
  assert.ok(Math.abs(s.logprob - Math.log(1 - p3)) < 1e-9);
  // top-p 0.5: the most likely token alone holds 64% of the mass.
  const nucleus = sampleRow(row.slice(), { topP: 0.5 }, 0.9);
  assert.equal(nucleus.token, 3);
  assert.ok(Math.abs(nucleus.logprob) < 1e-12);
  assert.equal(sampleRow(row.slice(), { greedy: true }, 0).token, 3);
});
