// First-order separability (SPEC §4) on a tiny model: the gradient that reaches slate tokens
// depends on R_gen only and the gradient that reaches rank tokens on R_rank only; on-policy the
// F-GRPO gradient is REINFORCE with one group baseline per phase.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { TaskVocab } from "../../src/models/task-vocab.js";
import { VocabRolloutCodec, rolloutSymbols } from "../../src/fgrpo/grammar-tokens.js";
import { phaseAdvantages, jointAdvantages } from "../../src/fgrpo/advantages.js";
import { batchPhaseMasks } from "../../src/fgrpo/phase-masks.js";
import { fgrpoLoss, grpoLoss } from "../../src/fgrpo/objectives.js";
import { assertClose } from "../torch/helpers.js";

const layout = { poolSize: 6, nMax: 3, kMax: 2 };
const vocab = new TaskVocab(rolloutSymbols(layout));
const codec = new VocabRolloutCodec(vocab, layout);
const G = 4;
const rollouts = [
  { slate: [1, 2, 3], ranking: [2, 1] },
  { slate: [4, 5], ranking: [5] },
  { slate: [2, 6, 1], ranking: [6, 2] },
  { slate: [3], ranking: [3] },
];
const completions = rollouts.map((r) => codec.render(r));
const parsed = completions.map((c) => codec.parse(c));
const width = Math.max(...completions.map((c) => c.length));
const masks = batchPhaseMasks(parsed.map((p, i) => ({ ...p, length: completions[i]!.length })), width);

/** A tiny autoregressive policy: logits of token t from the embedding of token t−1. */
function tinyModel(seed: number) {
  T.manualSeed(seed);
  const d = 5;
  const emb = T.keep(T.randn([vocab.size, d], { dtype: "float64" }).requiresGrad_());
  const out = T.keep(T.randn([vocab.size, d], { dtype: "float64" }).requiresGrad_());
  const ids = completions.map((c) => [vocab.bosId, ...c.slice(0, -1)]);
  const prev = T.keep(T.tensor(ids.map((r) => [...r, ...Array(width - r.length).fill(0)]), { dtype: "int64" }));
  const targets = T.keep(T.tensor(completions.map((c) => [...c, ...Array(width - c.length).fill(0)]), { dtype: "int64" }));
  const logprobs = () => T.linear(T.embedding(emb, prev), out).logSoftmax(-1).gather(2, targets.unsqueeze(2)).squeeze(2);
  return { params: [emb, out], logprobs };
}

function fgrpoGradients(model: ReturnType<typeof tinyModel>, gen: number[], rank: number[], lambda = 1) {
  return T.tidy(() => {
    const adv = phaseAdvantages({ gen, rank }, G);
    const lp = model.logprobs();
    const f = (a: Float32Array) => T.tensor(a, { shape: [G, width], dtype: "float64" });
    const slateMask = f(masks.slate), rankMask = f(masks.rank);
    const { loss } = fgrpoLoss(
      { logprobs: lp, oldLogprobs: lp.detach(), completionMask: f(masks.completion), slateMask, rankMask, advGen: T.tensor(Array.from(adv.gen), { dtype: "float64" }), advRank: T.tensor(Array.from(adv.rank), { dtype: "float64" }) },
      { epsilon: 3e-4, epsilonHigh: 4e-4, beta: 0, rankWeight: lambda },
    );
    // dL/dℓ at every token, then the parameter gradient carried by each phase's tokens.
    const [dLdl] = T.grad(loss, [lp], { retainGraph: true });
    const through = (mask: T.Tensor) => T.grad(lp, model.params, { gradOutputs: [dLdl!.mul(mask)], retainGraph: true }).map((g) => g!.toArray());
    const slateGrad = through(slateMask);
    const rankGrad = through(rankMask);
    const total = T.grad(loss, model.params).map((g) => g!.toArray());
    return { dLdl: dLdl!.toArray(), slate: slateGrad, rank: rankGrad, total, advGen: Array.from(adv.gen), advRank: Array.from(adv.rank) };
  });
}

const GEN = [1, 0, 1, 0];
const RANK_A = [1, 0, 0.63, 0.5];
const RANK_B = [0.2, 0.9, 0.1, 0.7];
const GEN_B = [0, 1, 1, 0];

test("F-GRPO: changing only the rank rewards leaves the slate-token gradient unchanged", () => {
  const model = tinyModel(1);
  const a = fgrpoGradients(model, GEN, RANK_A);
  const b = fgrpoGradients(model, GEN, RANK_B);
  a.slate.forEach((g, i) => assert.deepEqual(b.slate[i], g, "slate gradient must not depend on R_rank"));
  assert.notDeepEqual(a.rank, b.rank, "the rank gradient does depend on R_rank");
  for (let i = 0; i < a.dLdl.length; i++) if (masks.slate[i]) assert.equal(a.dLdl[i], b.dLdl[i]);
});

test("F-GRPO: changing only the gen rewards leaves the rank-token gradient unchanged", () => {
  const model = tinyModel(2);
  const a = fgrpoGradients(model, GEN, RANK_A);
  const b = fgrpoGradients(model, GEN_B, RANK_A);
  a.rank.forEach((g, i) => assert.deepEqual(b.rank[i], g, "rank gradient must not depend on R_gen"));
  assert.notDeepEqual(a.slate, b.slate);
});

test("GRPO's joint advantage does not separate (the same check fails for it)", () => {
  const model = tinyModel(3);
  const grads = (rank: number[]) =>
    T.tidy(() => {
      const { advantages } = jointAdvantages({ gen: GEN, rank }, 1, G);
      const lp = model.logprobs();
      const f = (a: Float32Array) => T.tensor(a, { shape: [G, width], dtype: "float64" });
      const { loss } = grpoLoss({ logprobs: lp, oldLogprobs: lp.detach(), completionMask: f(masks.completion), adv: T.tensor(Array.from(advantages), { dtype: "float64" }) }, { epsilon: 0.2, epsilonHigh: 0.2, beta: 0, lossType: "grpo", maxCompletionLength: width });
      const [dLdl] = T.grad(loss, [lp]);
      return dLdl!.mul(f(masks.slate)).toArray();
    });
  assert.notDeepEqual(grads(RANK_A), grads(RANK_B));
});

test("on-policy, the F-GRPO gradient equals REINFORCE with a group baseline per phase", () => {
  const model = tinyModel(4);
  const lambda = 0.7;
  const got = fgrpoGradients(model, GEN, RANK_A, lambda);
  // ∇L = −(1/G) Σ_i [ A^gen_i · mean_{t∈slate_i} ∇ℓ_t + λ · A^rank_i · mean_{t∈rank_i} ∇ℓ_t ]
  const expected = T.tidy(() => {
    const lp = model.logprobs();
    const rows = Array.from({ length: G }, (_, i) => {
      const nGen = masks.slate.slice(i * width, (i + 1) * width).reduce((s, x) => s + x, 0);
      const nRank = masks.rank.slice(i * width, (i + 1) * width).reduce((s, x) => s + x, 0);
      return Array.from({ length: width }, (_, t) => (got.advGen[i]! * masks.slate[i * width + t]!) / nGen + (lambda * got.advRank[i]! * masks.rank[i * width + t]!) / nRank);
    });
    const weights = T.tensor(rows, { dtype: "float64" });
    const surrogate = lp.mul(weights).sum().div(-G);
    return T.grad(surrogate, model.params).map((g) => g!.toArray());
  });
  got.total.forEach((g, i) => assertClose(g, expected[i]!, 1e-12, `parameter ${i}`));
});
