// Objective values and gradients on a hand-built batch, against the formulas of SPEC §4
// evaluated with plain numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { fgrpoLoss, grpoLoss, gspoLoss, k3 } from "../../src/fgrpo/objectives.js";
import { assertClose } from "../torch/helpers.js";

const LP = [[-1.0, -0.5, -2.0, -1.5], [-0.3, -0.7, -1.1, 0]];
const OLD = [[-1.1, -0.5, -1.8, -1.5], [-0.3, -0.9, -1.0, 0]];
const REF = [[-1.2, -0.4, -2.1, -1.0], [-0.5, -0.7, -1.0, 0]];
const COMP = [[1, 1, 1, 1], [1, 1, 1, 0]];
const SLATE = [[1, 1, 0, 0], [1, 0, 0, 0]];
const RANK = [[0, 0, 1, 1], [0, 1, 1, 0]];
const f64 = (x: number[][] | number[]) => T.tensor(x, { dtype: "float64" });

/** A phase's sequence ratio, its clipped-surrogate value and d(value)/d(ratio), by hand. */
function surrogate(s: number, a: number, lo: number, hi: number): { value: number; dvalue: number } {
  const clipped = Math.min(Math.max(s, 1 - lo), 1 + hi);
  const unclippedBranch = s * a <= clipped * a;
  return { value: Math.min(s * a, clipped * a), dvalue: unclippedBranch ? a : 0 };
}

function seqRatio(i: number, mask: number[][]): { s: number; n: number } {
  let sum = 0, n = 0;
  for (let t = 0; t < 4; t++) if (mask[i]![t]) { sum += LP[i]![t]! - OLD[i]![t]!; n++; }
  return { s: Math.exp(sum / Math.max(1, n)), n };
}

function run(fn: (lp: T.Tensor) => { loss: T.Tensor; metrics: Record<string, number> }) {
  return T.tidy(() => {
    const lp = f64(LP).requiresGrad_();
    const r = fn(lp);
    const loss = r.loss.item();
    r.loss.backward();
    return { loss, grad: lp.grad!.toArray(), metrics: r.metrics };
  });
}

for (const eps of [{ lo: 0.2, hi: 0.28 }, { lo: 0.05, hi: 0.05 }]) {
  test(`F-GRPO loss and gradient equal the hand computation (ε=${eps.lo}/${eps.hi}, λ=0.7, β=0.1)`, () => {
    const advGen = [0.5, -0.5], advRank = [-0.25, 0.8], lambda = 0.7, beta = 0.1;
    const got = run((lp) =>
      fgrpoLoss(
        { logprobs: lp, oldLogprobs: f64(OLD), refLogprobs: f64(REF), completionMask: f64(COMP), slateMask: f64(SLATE), rankMask: f64(RANK), advGen: f64(advGen), advRank: f64(advRank) },
        { epsilon: eps.lo, epsilonHigh: eps.hi, beta, rankWeight: lambda },
      ),
    );
    let loss = 0;
    const grad = [[0, 0, 0, 0], [0, 0, 0, 0]];
    for (const [mask, adv, w] of [[SLATE, advGen, 1], [RANK, advRank, lambda]] as const) {
      for (let i = 0; i < 2; i++) {
        const { s, n } = seqRatio(i, mask as number[][]);
        const { value, dvalue } = surrogate(s, adv[i]!, eps.lo, eps.hi);
        loss -= (w * value) / 2;
        for (let t = 0; t < 4; t++) if (mask[i]![t]) grad[i]![t]! -= (w * dvalue * s) / n / 2;
      }
    }
    // KL: mean over sequences of the mean token k3; d k3 / dℓ = 1 − exp(ℓ_ref − ℓ).
    for (let i = 0; i < 2; i++) {
      const n = COMP[i]!.reduce((a, b) => a + b, 0);
      for (let t = 0; t < 4; t++) {
        if (!COMP[i]![t]) continue;
        const d = REF[i]![t]! - LP[i]![t]!;
        loss += (beta * (Math.exp(d) - d - 1)) / n / 2;
        grad[i]![t]! += (beta * (1 - Math.exp(d))) / n / 2;
      }
    }
    assertClose([got.loss], [loss], 1e-12, "loss");
    assertClose(got.grad, grad.flat(), 1e-12, "gradient");
    assert.ok(got.metrics.kl! > 0);
  });
}

test("F-GRPO clip fractions count the active clips per phase", () => {
  // Sequence 0's slate ratio is exp(mean(0.1, 0)) = 1.051 > 1 + 0.05 with A > 0: high clip in gen.
  const got = run((lp) =>
    fgrpoLoss(
      { logprobs: lp, oldLogprobs: f64(OLD), completionMask: f64(COMP), slateMask: f64(SLATE), rankMask: f64(RANK), advGen: f64([1, 1]), advRank: f64([-1, -1]) },
      { epsilon: 0.05, epsilonHigh: 0.05, beta: 0, rankWeight: 1 },
    ),
  );
  assert.equal(got.metrics.clip_high_gen, 0.5);
  assert.equal(got.metrics.clip_low_gen, 0);
  // Rank ratios: seq 0 exp(mean(-0.2, 0)) = 0.905 < 0.95 with A < 0: low clip; seq 1 exp(mean(0.2,-0.1)) = 1.05.
  assert.equal(got.metrics.clip_low_rank, 0.5);
  assert.equal(got.metrics.clip_high_rank, 0);
});

for (const lossType of ["grpo", "bnpo", "dapo", "dr_grpo"] as const) {
  test(`GRPO (${lossType}) loss and gradient equal the hand computation`, () => {
    const adv = [0.6, -0.4], lo = 0.2, hi = 0.28, beta = 0.05, maxLen = 6;
    const got = run((lp) =>
      grpoLoss({ logprobs: lp, oldLogprobs: f64(OLD), refLogprobs: f64(REF), completionMask: f64(COMP), adv: f64(adv) }, { epsilon: lo, epsilonHigh: hi, beta, lossType, maxCompletionLength: maxLen }),
    );
    const perTok = [[0, 0, 0, 0], [0, 0, 0, 0]], dTok = [[0, 0, 0, 0], [0, 0, 0, 0]];
    for (let i = 0; i < 2; i++) for (let t = 0; t < 4; t++) {
      if (!COMP[i]![t]) continue;
      const r = Math.exp(LP[i]![t]! - OLD[i]![t]!);
      const { value, dvalue } = surrogate(r, adv[i]!, lo, hi);
      const d = REF[i]![t]! - LP[i]![t]!;
      perTok[i]![t] = -value + beta * (Math.exp(d) - d - 1);
      dTok[i]![t] = -dvalue * r + beta * (1 - Math.exp(d));
    }
    const lens = [4, 3], total = 7;
    const weight = (i: number) => (lossType === "grpo" ? 1 / lens[i]! / 2 : lossType === "bnpo" || lossType === "dapo" ? 1 / total : 1 / (2 * maxLen));
    let loss = 0;
    const grad: number[] = [];
    for (let i = 0; i < 2; i++) for (let t = 0; t < 4; t++) {
      loss += perTok[i]![t]! * weight(i);
      grad.push(COMP[i]![t] ? dTok[i]![t]! * weight(i) : 0);
    }
    assertClose([got.loss], [loss], 1e-12, "loss");
    assertClose(got.grad, grad, 1e-12, "gradient");
  });
}

test("GSPO and GSPO-token: loss and gradient equal the hand computation, and each other", () => {
  const adv = [0.6, -0.4], lo = 3e-4, hi = 4e-4;
  const results = [false, true].map((tokenLevel) =>
    run((lp) => gspoLoss({ logprobs: lp, oldLogprobs: f64(OLD), completionMask: f64(COMP), adv: f64(adv) }, { epsilon: lo, epsilonHigh: hi, beta: 0, tokenLevel })),
  );
  // Use a wide clip to see the unclipped gradient too.
  const wide = run((lp) => gspoLoss({ logprobs: lp, oldLogprobs: f64(OLD), completionMask: f64(COMP), adv: f64(adv) }, { epsilon: 10, epsilonHigh: 10, beta: 0 }));
  for (const [got, l, h] of [[results[0]!, lo, hi], [wide, 10, 10]] as const) {
    let loss = 0;
    const grad: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { s, n } = seqRatio(i, COMP);
      const { value, dvalue } = surrogate(s, adv[i]!, l, h);
      loss -= value / 2;
      for (let t = 0; t < 4; t++) grad.push(COMP[i]![t] ? (-dvalue * s) / n / 2 : 0);
    }
    assertClose([got.loss], [loss], 1e-12, "loss");
    assertClose(got.grad, grad, 1e-12, "gradient");
  }
  assertClose([results[1]!.loss], [results[0]!.loss], 1e-12, "GSPO-token value");
  assertClose(results[1]!.grad, results[0]!.grad, 1e-12, "GSPO-token gradient");
});

test("k3 is zero at equality and positive otherwise", () => {
  T.tidy(() => {
    assertClose(k3(f64([-1, -2]), f64([-1, -1])), [0, Math.exp(1) - 1 - 1], 1e-12);
  });
});

test("beta > 0 without a reference model is an error", () => {
  T.tidy(() => {
    assert.throws(() => gspoLoss({ logprobs: f64(LP), oldLogprobs: f64(OLD), completionMask: f64(COMP), adv: f64([1, 1]) }, { epsilon: 0.2, epsilonHigh: 0.2, beta: 0.1 }), /refLogprobs/);
  });
});
