// Per-prompt seeds: each prompt samples from its own stream, so its rollouts do not depend on
// which prompts share its batch or where it sits (what lets a server batch independent requests).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { LlamaModel, presets } from "../../src/models/index.js";
import { generate } from "../../src/generation/index.js";
import { IncreasingIds } from "./helpers.js";

T.manualSeed(5);
const model = LlamaModel.init(presets.micro(64, { numLayers: 2 }));
const PROMPTS = [[1, 7, 9], [1], [1, 20, 21, 22, 23, 24], [1, 33]];
const SEEDS = [11, 12, 13, 14];

for (const constrained of [false, true]) {
  test(`a prompt's sampled rollouts are the same alone, in any batch and any position (${constrained ? "constrained" : "unconstrained"})`, () => {
    const opts = { maxNewTokens: 12, numGenerations: 2, temperature: 1, stopTokens: [2], constraint: constrained ? new IncreasingIds(5, 60, 4) : undefined };
    const batch = generate(model, PROMPTS, { ...opts, seeds: SEEDS });
    const reversed = generate(model, [...PROMPTS].reverse(), { ...opts, seeds: [...SEEDS].reverse() });
    PROMPTS.forEach((p, i) => {
      const alone = generate(model, [p], { ...opts, seeds: [SEEDS[i]!] });
      for (let j = 0; j < 2; j++) {
        const row = i * 2 + j;
        const reversedRow = (PROMPTS.length - 1 - i) * 2 + j;
        assert.deepEqual(batch.completions[row], alone.completions[j], `prompt ${i} rollout ${j} in the batch`);
        assert.deepEqual(reversed.completions[reversedRow], alone.completions[j], `prompt ${i} rollout ${j} reversed`);
        alone.logprobs[j]!.forEach((lp, k) => assert.ok(Math.abs(lp - batch.logprobs[row]![k]!) < 1e-5, `prompt ${i} step ${k}`));
      }
    });
    // The seeds matter.
    const otherSeeds = generate(model, PROMPTS, { ...opts, seeds: SEEDS.map((s) => s + 100) });
    assert.notDeepEqual(otherSeeds.completions, batch.completions);
  });
}

test("seeds must match the prompts", () => {
  assert.throws(() => generate(model, PROMPTS, { maxNewTokens: 2, seeds: [1] }), /seeds: 1 seeds for 4 prompts/);
});
