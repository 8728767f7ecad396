/**
 * Group-relative advantages (SPEC §3). Rollouts come in groups of G consecutive entries, one
 * group per prompt: rollouts [g·G, (g+1)·G) belong to prompt g.
 *
 *     A_i = R_i − mean_{j in group} R_j                  scale_rewards "none" (Dr. GRPO, default [summary])
 *     A_i = (R_i − mean) / (std_group + eps)             "group" (GRPO)
 *     A_i = (R_i − mean) / (std_batch + eps)             "batch"
 *
 * Standard deviations are the unbiased (n − 1) estimate and eps = 1e-4, as in TRL's
 * GRPOTrainer. F-GRPO computes this separately for each phase; GRPO and GSPO use the joint
 * reward R_gen + λ·R_rank.
 */

export type ScaleRewards = "none" | "group" | "batch";

export interface AdvantageOptions {
  /** TRL's `scale_rewards`; "none" is Dr. GRPO's unbiased choice and our default [summary]. */
  scaleRewards: ScaleRewards;
  /** Added to the std before dividing (TRL: 1e-4). */
  eps: number;
}

export const DEFAULT_ADVANTAGE_OPTIONS: Readonly<AdvantageOptions> = Object.freeze({ scaleRewards: "none", eps: 1e-4 });

/** What the trainer logs per phase (SPEC §3 and ARCHITECTURE "Log per step"). */
export interface PhaseStats {
  /** Mean reward over the batch. */
  rewardMean: number;
  /** Std of the rewards over the batch (unbiased). */
  rewardStd: number;
  /** Mean over groups of the within-group std: TRL's `reward_std`. */
  groupRewardStd: number;
  /** Std of the advantages over the batch (unbiased). */
  advantageStd: number;
  /** Fraction of groups whose rewards are all equal: they give this phase zero advantage. */
  zeroVarianceFraction: number;
}

/** TRL treats a group std within 1e-8 of zero (torch.isclose's atol) as zero variance. */
const ZERO_STD = 1e-8;

function mean(xs: ArrayLike<number>, from = 0, to = xs.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i]!;
  return s / (to - from);
}

/** Unbiased standard deviation; 0 for fewer than two values. */
function std(xs: ArrayLike<number>, from = 0, to = xs.length): number {
  const n = to - from;
  if (n < 2) return 0;
  const m = mean(xs, from, to);
  let ss = 0;
  for (let i = from; i < to; i++) ss += (xs[i]! - m) ** 2;
  return Math.sqrt(ss / (n - 1));
}

function checkShape(rewards: ArrayLike<number>, groupSize: number): void {
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new RangeError(`groupSize (num_generations) must be an integer ≥ 2, got ${groupSize}`);
  if (rewards.length === 0 || rewards.length % groupSize !== 0) {
    throw new RangeError(`${rewards.length} rewards do not split into groups of ${groupSize}`);
  }
  for (let i = 0; i < rewards.length; i++) if (!Number.isFinite(rewards[i]!)) throw new RangeError(`reward ${i} is ${rewards[i]}`);
}

/** Advantages of one reward signal, and its statistics. */
export function groupRelativeAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  opts: AdvantageOptions = DEFAULT_ADVANTAGE_OPTIONS,
): { advantages: Float64Array; stats: PhaseStats } {
  checkShape(rewards, groupSize);
  const groups = rewards.length / groupSize;
  const batchStd = std(rewards);
  const advantages = new Float64Array(rewards.length);
  let zeroGroups = 0;
  let groupStdSum = 0;
  for (let g = 0; g < groups; g++) {
    const from = g * groupSize;
    const to = from + groupSize;
    const m = mean(rewards, from, to);
    const s = std(rewards, from, to);
    groupStdSum += s;
    if (s <= ZERO_STD) zeroGroups++;
    const scale = opts.scaleRewards === "none" ? 1 : 1 / ((opts.scaleRewards === "group" ? s : batchStd) + opts.eps);
    for (let i = from; i < to; i++) advantages[i] = (rewards[i]! - m) * scale;
  }
  return {
    advantages,
    stats: {
      rewardMean: mean(rewards),
      rewardStd: batchStd,
      groupRewardStd: groupStdSum / groups,
      advantageStd: std(advantages),
      zeroVarianceFraction: zeroGroups / groups,
    },
  };
}

/** Per-phase rewards of a batch, one entry per rollout. */
export interface PhaseRewards {
  gen: ArrayLike<number>;
  rank: ArrayLike<number>;
}

/** F-GRPO: one group baseline per phase, A^gen from R_gen and A^rank from R_rank. */
export function phaseAdvantages(
  rewards: PhaseRewards,
  groupSize: number,
  opts: AdvantageOptions = DEFAULT_ADVANTAGE_OPTIONS,
): { gen: Float64Array; rank: Float64Array; stats: { gen: PhaseStats; rank: PhaseStats } } {
  if (rewards.gen.length !== rewards.rank.length) throw new RangeError(`${rewards.gen.length} gen rewards vs ${rewards.rank.length} rank rewards`);
  const gen = groupRelativeAdvantages(rewards.gen, groupSize, opts);
  const rank = groupRelativeAdvantages(rewards.rank, groupSize, opts);
  return { gen: gen.advantages, rank: rank.advantages, stats: { gen: gen.stats, rank: rank.stats } };
}

/**
 * GRPO / GSPO: one advantage from the joint reward R = R_gen + λ·R_rank (λ = 1.0 [summary]).
 * Returns the joint rewards too, so the trainer can log the signal it trains on.
 */
export function jointAdvantages(
  rewards: PhaseRewards,
  rankWeight: number,
  groupSize: number,
  opts: AdvantageOptions = DEFAULT_ADVANTAGE_OPTIONS,
): { advantages: Float64Array; rewards: Float64Array; stats: PhaseStats } {
  if (rewards.gen.length !== rewards.rank.length) throw new RangeError(`${rewards.gen.length} gen rewards vs ${rewards.rank.length} rank rewards`);
  const joint = Float64Array.from({ length: rewards.gen.length }, (_, i) => rewards.gen[i]! + rankWeight * rewards.rank[i]!);
  const { advantages, stats } = groupRelativeAdvantages(joint, groupSize, opts);
  return { advantages, rewards: joint, stats };
}
