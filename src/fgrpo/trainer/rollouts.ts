/**
 * From sampled completions to what the objective needs: parse each rollout (validity taxonomy),
 * score it with the per-phase rewards, compute the group-relative advantages (per phase for
 * F-GRPO, joint for GRPO/GSPO) and the phase masks. Plain arrays; no tensors.
 */
import { ROLLOUT_STATUSES, type ParsedRollout, type RolloutStatus } from "../parse-core.js";
import { computeRewards, type RewardConfig } from "../rewards.js";
import { jointAdvantages, phaseAdvantages, type AdvantageOptions, type PhaseStats } from "../advantages.js";
import { batchPhaseMasks, type BatchPhaseMasks } from "../phase-masks.js";
import type { EncodedExample, TaskSetup } from "./data.js";

export interface RolloutBatch {
  /** B prompts; rollout i belongs to prompt floor(i / G). */
  examples: EncodedExample[];
  groupSize: number;
  /** B·G completions, each ending with EOS when finished. */
  completions: number[][];
  parsed: ParsedRollout[];
  rewardGen: Float64Array;
  rewardRank: Float64Array;
  /** The reward each rollout is trained on: per phase for F-GRPO, joint otherwise. */
  advGen: Float64Array;
  advRank: Float64Array;
  /** Joint advantage (GRPO/GSPO); for F-GRPO it is not used. */
  advJoint: Float64Array;
  /** Joint reward R_gen + λ·R_rank, what GRPO/GSPO train on. */
  rewardJoint: Float64Array;
  stats: { gen: PhaseStats; rank: PhaseStats; joint: PhaseStats };
  masks: BatchPhaseMasks;
  statusCounts: Record<RolloutStatus, number>;
}

/**
 * Gathers this rank's per-rollout rewards into the whole step's (in the order one process would
 * hold them) and says which of those rows are this rank's.
 */
export type GlobalRewards = (gen: Float64Array, rank: Float64Array) => { gen: Float64Array; rank: Float64Array; rows: number[] };

export function assembleRollouts(
  task: TaskSetup,
  examples: EncodedExample[],
  completions: number[][],
  groupSize: number,
  reward: RewardConfig,
  advantage: AdvantageOptions,
  rankWeight: number,
  globalRewards?: GlobalRewards,
): RolloutBatch {
  if (completions.length !== examples.length * groupSize) throw new RangeError(`${completions.length} completions for ${examples.length} prompts × ${groupSize}`);
  const parsed = completions.map((c, i) => examples[Math.floor(i / groupSize)]!.codec.parse(c));
  const rewardGen = new Float64Array(parsed.length);
  const rewardRank = new Float64Array(parsed.length);
  const statusCounts = Object.fromEntries(ROLLOUT_STATUSES.map((s) => [s, 0])) as Record<RolloutStatus, number>;
  parsed.forEach((p, i) => {
    const r = computeRewards(p, examples[Math.floor(i / groupSize)]!.grades, task.layout, reward);
    rewardGen[i] = r.gen;
    rewardRank[i] = r.rank;
    statusCounts[p.status] += 1;
  });
  // Under data parallelism the advantages and their statistics come from the whole step's
  // rewards (a batch-scaled std spans every rank), then each rank keeps its own rows.
  const all = globalRewards ? globalRewards(rewardGen, rewardRank) : { gen: rewardGen, rank: rewardRank, rows: null };
  const local = (a: Float64Array) => (all.rows === null ? a : Float64Array.from(all.rows, (i) => a[i]!));
  const phase = phaseAdvantages({ gen: all.gen, rank: all.rank }, groupSize, advantage);
  const joint = jointAdvantages({ gen: all.gen, rank: all.rank }, rankWeight, groupSize, advantage);
  const width = Math.max(...completions.map((c) => c.length));
  const masks = batchPhaseMasks(parsed.map((p, i) => ({ slateSpan: p.slateSpan, rankSpan: p.rankSpan, length: completions[i]!.length })), width);
  return {
    examples,
    groupSize,
    completions,
    parsed,
    rewardGen,
    rewardRank,
    advGen: local(phase.gen),
    advRank: local(phase.rank),
    advJoint: local(joint.advantages),
    rewardJoint: local(joint.rewards),
    stats: { gen: phase.stats.gen, rank: phase.stats.rank, joint: joint.stats },
    masks,
    statusCounts,
  };
}
