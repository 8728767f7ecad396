import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { LlamaModel, loadLlama2c, presets } from "../../src/models/index.js";
import { generate, scoreCompletions } from "../../src/generation/index.js";
import { STORIES_BIN } from "../models/helpers.js";
import { IncreasingIds } from "./helpers.js";

const stories = loadLlama2c(STORIES_BIN);
const PROMPTS = [[1, 403, 407, 261], [1], [1, 403, 407, 261, 378, 432, 383, 286]];

test("a padded batch decodes exactly as each prompt alone (greedy tokens; log-probs within 1e-5)", () => {
  const batch = generate(stories, PROMPTS, { maxNewTokens: 40, greedy: true, stopTokens: [] });
  PROMPTS.forEach((p, i) => {
    const alone = generate(stories, [p], { maxNewTokens: 40, greedy: true, stopTokens: [] });
    assert.deepEqual(batch.completions[i], alone.completions[0]);
    alone.logprobs[0]!.forEach((lp, j) => assert.ok(Math.abs(lp - batch.logprobs[i]![j]!) < 1e-5, `prompt ${i} step ${j}`));
  });
});

test("seeded sampling is reproducible, and the seed matters", () => {
  const opts = { maxNewTokens: 30, numGenerations: 4, temperature: 1, topK: 50, topP: 0.95, seed: 42 };
  const a = generate(stories, PROMPTS, opts);
  const b = generate(stories, PROMPTS, opts);
  assert.deepEqual(a.completions, b.completions);
  assert.deepEqual(a.logprobs, b.logprobs);
  const c = generate(stories, PROMPTS, { ...opts, seed: 43 });
  assert.notDeepEqual(a.completions, c.completions);
  assert.equal(a.completions.length, PROMPTS.length * 4);
});

test("the shared prompt prefix gives the same rollouts as prefilling every rollout", () => {
  const opts = { maxNewTokens: 25, numGenerations: 3, temperature: 0.8, seed: 9 };
  const shared = generate(stories, PROMPTS, opts);
  const unshared = generate(stories, PROMPTS, { ...opts, sharedPrefix: false });
  assert.deepEqual(shared.completions, unshared.completions);
  // Relative: the two runs multiply different numbers of rows at once, so float32 GEMM blocking
  // (and rounding) differs, and 25 sampled steps compound it (measured up to 3e-6 relative).
  shared.logprobs.flat().forEach((lp, i) => assert.ok(Math.abs(lp - unshared.logprobs.flat()[i]!) < 1e-5 * Math.max(1, Math.abs(lp))));
});

test("stop tokens end a rollout (kept), and finished rollouts stop growing", () => {
  T.manualSeed(5);
  const model = LlamaModel.init(presets.micro(12));
  const r = generate(model, [[1, 4], [1]], { maxNewTokens: 60, numGenerations: 8, temperature: 1.5, seed: 1, stopTokens: [2, 3] });
  r.completions.forEach((c, i) => {
    const stopAt = c.findIndex((t) => t === 2 || t === 3);
    if (r.finished[i]) assert.equal(stopAt, c.length - 1, "the stop token is the last token");
    else assert.equal(c.length, 60);
  });
  assert.ok(r.finished.some((f) => f), "with 12 tokens some rollout hits a stop token in 60 steps");
  assert.equal(r.stats.tokens, r.completions.reduce((n, c) => n + c.length, 0));
  model.dispose();
});

test("constrained sampling only emits allowed tokens, and its log-probs are those of the masked distribution", () => {
  const constraint = new IncreasingIds(300, 340, 4);
  const prompts = [[1, 403], [1]];
  const r = generate(stories, prompts, { maxNewTokens: 10, numGenerations: 5, temperature: 1, seed: 3, constraint });
  for (const c of r.completions) {
    let state = constraint.initial();
    for (const t of c) {
      assert.ok(constraint.allowedTokens(state).includes(t), `token ${t} not allowed`);
      state = constraint.advance(state, t);
    }
    assert.ok(constraint.isComplete(state));
    assert.equal(c.length, 5);
  }
  assert.ok(r.finished.every((f) => f));
  const scored = scoreCompletions(stories, prompts, r.completions, { groupOf: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], constraint });
  const lp = scored.logprobs.toArray();
  r.logprobs.flat().forEach((x, i) => assert.ok(Math.abs(x - lp[i]!) < 1e-5, `token ${i}: sampled ${x}, scored ${lp[i]}`));
  assert.ok(lp.every((x) => x <= 0 && x > -Infinity));
  for (const t of [scored.logprobs, scored.entropy, scored.mask]) t.dispose();
});

test("constrained sampling over the allowed tokens only draws what the whole-vocabulary rows draw: temperature, top-k/top-p, greedy", () => {
  const prompts = [[1, 403, 407], [1], [1, 261]];
  const variants = [
    { temperature: 0.8 },
    { temperature: 1.2, topK: 5, topP: 0.9 },
    { greedy: true },
  ];
  for (const sampling of variants) {
    // Rows advance differently, so the union of the live rows' allowed sets changes from step to step.
    const constraint = new IncreasingIds(300, 360, 6);
    const opts = { maxNewTokens: 9, numGenerations: 4, seed: 11, constraint, ...sampling };
    const restricted = generate(stories, prompts, opts);
    const whole = generate(stories, prompts, { ...opts, restrictToAllowed: false });
    assert.deepEqual(restricted.completions, whole.completions, JSON.stringify(sampling));
    restricted.logprobs.flat().forEach((x, i) => assert.ok(Math.abs(x - whole.logprobs.flat()[i]!) < 1e-5, `${JSON.stringify(sampling)} token ${i}`));
  }
});
