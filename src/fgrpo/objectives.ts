/**
 * The policy objectives of SPEC §4 on tensors: F-GRPO (two-phase, sequence-level, one ratio per
 * phase), GRPO (token-level ratio; loss types grpo / bnpo / dr_grpo), GSPO (one sequence ratio)
 * and GSPO-token, each with an optional k3 KL penalty to a reference policy.
 *
 * Shapes: R rollouts × L completion positions. Every mask is a float tensor [R, L] of 0/1;
 * advantages are [R]. `logprobs` carries the graph; `oldLogprobs` and `refLogprobs` are detached.
 * Each function returns the scalar loss to minimise and its metrics (plain numbers).
 */
import * as T from "../torch/index.js";

export type ObjectiveMethod = "fgrpo" | "grpo" | "gspo" | "gspo_token";
export type GrpoLossType = "grpo" | "bnpo" | "dapo" | "dr_grpo";

export interface ObjectiveInputs {
  /** ℓ_t(θ): log-probs of the completion tokens under the current policy [R, L]. */
  logprobs: T.Tensor;
  /** ℓ_t(θ_old): log-probs under the policy that sampled the rollouts [R, L]. */
  oldLogprobs: T.Tensor;
  /** ℓ_t(θ_ref), needed only when beta > 0 [R, L]. */
  refLogprobs?: T.Tensor | null;
  /** 1 on every completion token (padding 0) [R, L]. */
  completionMask: T.Tensor;
}

export interface ClipOptions {
  /** ε_low: the ratio is clipped below at 1 − epsilon. */
  epsilon: number;
  /** ε_high: the ratio is clipped above at 1 + epsilonHigh (DAPO's clip-higher when > epsilon). */
  epsilonHigh: number;
  /** KL coefficient β (0 = no reference model, the default [summary]). */
  beta: number;
}

export interface ObjectiveResult {
  loss: T.Tensor;
  metrics: Record<string, number>;
}

/** Masked mean along the last dimension; rows without any masked element give 0. */
export function maskedRowMean(x: T.Tensor, mask: T.Tensor): T.Tensor {
  return x.mul(mask).sum(-1).div(mask.sum(-1).clamp(1));
}

/** Per-token k3 estimator of KL(π_θ ‖ π_ref): exp(ℓ_ref − ℓ) − (ℓ_ref − ℓ) − 1 (≥ 0, unbiased). */
export function k3(logprobs: T.Tensor, refLogprobs: T.Tensor): T.Tensor {
  const d = refLogprobs.sub(logprobs);
  return d.exp().sub(d).sub(1);
}

/**
 * The PPO clipped surrogate min(r·A, clip(r, 1−ε_low, 1+ε_high)·A), elementwise, and the
 * fractions of elements where the lower or upper clip is active (ratio beyond the bound in the
 * direction the advantage pushes), counted over `weight` > 0.
 */
export function clippedSurrogate(ratio: T.Tensor, adv: T.Tensor, clip: ClipOptions, weight: T.Tensor): { surrogate: T.Tensor; clipLow: number; clipHigh: number } {
  const clipped = ratio.clamp(1 - clip.epsilon, 1 + clip.epsilonHigh);
  const surrogate = ratio.mul(adv).minimum(clipped.mul(adv));
  const [clipLow, clipHigh] = T.noGrad(() =>
    T.tidy(() => {
      const n = Math.max(1, weight.gt(0).sum().item());
      const active = weight.gt(0);
      const low = ratio.lt(1 - clip.epsilon).logicalAnd(adv.lt(0)).logicalAnd(active).sum().item() / n;
      const high = ratio.gt(1 + clip.epsilonHigh).logicalAnd(adv.gt(0)).logicalAnd(active).sum().item() / n;
      return [low, high];
    }),
  );
  return { surrogate, clipLow, clipHigh };
}

/** The β·KL term: mean over sequences of the per-sequence mean token k3. */
function klTerm(inp: ObjectiveInputs, beta: number): { term: T.Tensor | null; kl: number } {
  if (beta === 0 || !inp.refLogprobs) {
    if (beta !== 0) throw new Error("beta > 0 needs refLogprobs (a frozen reference model)");
    return { term: null, kl: 0 };
  }
  const perSeq = maskedRowMean(k3(inp.logprobs, inp.refLogprobs), inp.completionMask);
  const kl = perSeq.mean();
  return { term: kl.mul(beta), kl: T.noGrad(() => kl.item()) };
}

function sequenceRatio(inp: ObjectiveInputs, mask: T.Tensor): T.Tensor {
  return maskedRowMean(inp.logprobs.sub(inp.oldLogprobs), mask).exp();
}

export interface FgrpoInputs extends ObjectiveInputs {
  /** Slate-span tokens (<SLATE> … </SLATE>) [R, L]. */
  slateMask: T.Tensor;
  /** Rank-span tokens (<RANK> … </RANK> and EOS) [R, L]. */
  rankMask: T.Tensor;
  /** A^gen per rollout [R]. */
  advGen: T.Tensor;
  /** A^rank per rollout [R]. */
  advRank: T.Tensor;
}

/**
 * F-GRPO: s_i^P = exp(mean_{t∈T_i^P}(ℓ_t − ℓ_t^old)) per phase P, J_P = mean_i min(s·A^P,
 * clip(s)·A^P), L = −(J_gen + λ·J_rank) + β·KL. Slate tokens only ever see A^gen and rank tokens
 * only A^rank: the first-order separability the method rests on.
 */
export function fgrpoLoss(inp: FgrpoInputs, opts: ClipOptions & { rankWeight: number }): ObjectiveResult {
  const phases = [
    { name: "gen", mask: inp.slateMask, adv: inp.advGen, weight: 1 },
    { name: "rank", mask: inp.rankMask, adv: inp.advRank, weight: opts.rankWeight },
  ];
  const metrics: Record<string, number> = {};
  let objective: T.Tensor | null = null;
  for (const p of phases) {
    const ratio = sequenceRatio(inp, p.mask);
    // A rollout with no token in this phase contributes nothing (its ratio would be exp(0) = 1).
    const present = p.mask.sum(-1).gt(0).float();
    const { surrogate, clipLow, clipHigh } = clippedSurrogate(ratio, p.adv, opts, present);
    const j = surrogate.mul(present).mean().mul(p.weight);
    objective = objective === null ? j : objective.add(j);
    metrics[`clip_low_${p.name}`] = clipLow;
    metrics[`clip_high_${p.name}`] = clipHigh;
    metrics[`ratio_mean_${p.name}`] = T.noGrad(() => maskedMeanOver(ratio, present));
  }
  const { term, kl } = klTerm(inp, opts.beta);
  let loss = objective!.neg();
  if (term) loss = loss.add(term);
  metrics.kl = kl;
  return { loss, metrics };
}

export interface JointInputs extends ObjectiveInputs {
  /** One advantage per rollout, from the joint reward R_gen + λ·R_rank [R]. */
  adv: T.Tensor;
}

/**
 * GRPO: token-level ratio r_t = π_θ/π_old, clipped surrogate per token, aggregated by loss_type
 * as in TRL: `grpo` — mean over each sequence's tokens, then over sequences; `bnpo` — sum over all
 * tokens / number of tokens of the local batch; `dapo` (TRL's default) — the same token mean, but
 * over the active tokens of the global batch of one optimizer update (the trainer weighs each
 * data-parallel rank's gradient by its tokens; in one process the two coincide);
 * `dr_grpo` — sum over all tokens / (R · max_completion_length).
 */
export function grpoLoss(inp: JointInputs, opts: ClipOptions & { lossType: GrpoLossType; maxCompletionLength: number }): ObjectiveResult {
  const mask = inp.completionMask;
  const ratio = inp.logprobs.sub(inp.oldLogprobs).exp();
  const adv = inp.adv.unsqueeze(1);
  const { surrogate, clipLow, clipHigh } = clippedSurrogate(ratio, adv, opts, mask);
  let perToken = surrogate.neg();
  let kl = 0;
  if (opts.beta !== 0) {
    if (!inp.refLogprobs) throw new Error("beta > 0 needs refLogprobs (a frozen reference model)");
    const k = k3(inp.logprobs, inp.refLogprobs);
    perToken = perToken.add(k.mul(opts.beta));
    kl = T.noGrad(() => maskedRowMean(k, mask).mean().item());
  }
  let loss: T.Tensor;
  if (opts.lossType === "grpo") loss = maskedRowMean(perToken, mask).mean();
  else if (opts.lossType === "bnpo" || opts.lossType === "dapo") loss = perToken.mul(mask).sum().div(mask.sum().clamp(1));
  else loss = perToken.mul(mask).sum().div(mask.size(0) * opts.maxCompletionLength);
  return { loss, metrics: { clip_low: clipLow, clip_high: clipHigh, kl, ratio_mean: T.noGrad(() => maskedMeanOver(ratio, mask)) } };
}

/**
 * GSPO: one sequence ratio s_i = exp(mean_t(ℓ_t − ℓ_t^old)) over the whole completion, clipped
 * surrogate per sequence, mean over sequences. GSPO-token: s_{i,t} = sg[s_i]·π_θ(y_t)/sg[π_θ(y_t)],
 * whose value is s_i and whose gradient equals GSPO's for a per-sequence advantage while
 * allowing per-token advantages.
 */
export function gspoLoss(inp: JointInputs, opts: ClipOptions & { tokenLevel?: boolean }): ObjectiveResult {
  const mask = inp.completionMask;
  const seqRatio = sequenceRatio(inp, mask);
  let loss: T.Tensor;
  let clipLow: number, clipHigh: number;
  if (opts.tokenLevel) {
    const tokenRatio = seqRatio.detach().unsqueeze(1).mul(inp.logprobs.sub(inp.logprobs.detach()).exp());
    const adv = inp.adv.unsqueeze(1);
    const r = clippedSurrogate(tokenRatio, adv, opts, mask);
    loss = maskedRowMean(r.surrogate, mask).mean().neg();
    ({ clipLow, clipHigh } = r);
  } else {
    const present = mask.sum(-1).gt(0).float();
    const r = clippedSurrogate(seqRatio, inp.adv, opts, present);
    loss = r.surrogate.mul(present).mean().neg();
    ({ clipLow, clipHigh } = r);
  }
  const { term, kl } = klTerm(inp, opts.beta);
  if (term) loss = loss.add(term);
  return { loss, metrics: { clip_low: clipLow, clip_high: clipHigh, kl, ratio_mean: T.noGrad(() => maskedMeanOver(seqRatio, mask.sum(-1).gt(0).float())) } };
}

/** Mean entropy per completion token (for logging). */
export function meanTokenEntropy(entropy: T.Tensor, mask: T.Tensor): number {
  return T.noGrad(() => T.tidy(() => entropy.mul(mask).sum().item() / Math.max(1, mask.sum().item())));
}

function maskedMeanOver(x: T.Tensor, weight: T.Tensor): number {
  return T.tidy(() => x.detach().mul(weight).sum().item() / Math.max(1, weight.sum().item()));
}
