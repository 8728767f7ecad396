// The SFT loss under constrained decoding: the softmax runs over each step's allowed tokens, and
// computing it on the allowed columns only must give the whole-vocabulary values and gradients.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { LlamaModel, presets } from "../../src/models/index.js";
import { sftLoss, type SftPair } from "../../src/fgrpo/trainer/sft.js";
import { IncreasingIds } from "../generation/helpers.js";

test("constrained SFT loss on the allowed columns equals the whole-vocabulary loss: value, gradients, accuracy", () => {
  T.manualSeed(31);
  const model = LlamaModel.init(presets.micro(60, { numLayers: 2 }));
  const small = new IncreasingIds(10, 30, 3), large = new IncreasingIds(20, 55, 2);
  const pairs: SftPair[] = [
    { prompt: [1, 5, 6, 7], completion: [12, 17, 25, 2], constraint: small },
    { prompt: [1, 8], completion: [21, 40, 2], constraint: large },
    // A ranker's pair: the prompt already holds one token of the completion's grammar.
    { prompt: [1, 9, 11], completion: [14, 15, 2], constraint: small, constraintPrefix: [11] },
  ];
  const params = [...model.params.values()];
  const run = (restrict: boolean) =>
    T.tidy(() => {
      const { loss, logits, targets } = sftLoss(model, pairs, 0, true, restrict);
      const grads = T.grad(loss, params).map((g) => T.keep(g!));
      const accuracy = T.noGrad(() => logits.argmax(-1).eq(targets).float().mean().item());
      return { loss: loss.item(), grads, accuracy, columns: logits.size(1) };
    });
  const restricted = run(true), whole = run(false);
  assert.ok(restricted.columns < whole.columns, `restricted to ${restricted.columns} of ${whole.columns} columns`);
  assert.ok(Math.abs(restricted.loss - whole.loss) < 1e-6, `loss ${restricted.loss} vs ${whole.loss}`);
  assert.equal(restricted.accuracy, whole.accuracy);
  restricted.grads.forEach((g, i) => assert.ok(g.sub(whole.grads[i]!).abs().max().item() < 1e-6, `gradient of parameter ${i}`));
  // Masking renormalises over fewer tokens, so each gold token gets more probability than unmasked.
  const unconstrained = T.tidy(() => sftLoss(model, pairs, 0, false).loss.item());
  assert.ok(whole.loss < unconstrained, `masked ${whole.loss} < unmasked ${unconstrained}`);
  model.dispose();
});
