/**
 * Per-phase rewards (SPEC §2). The generation phase is scored on coverage (does the slate hold
 * the gold items, order-free), the ranking phase on utility (is the ranked list good,
 * position-aware). Invalid rollouts get the format penalty on both phases.
 *
 * Rewards are looked up by name in a registry, one per phase, so users can add their own:
 *
 *     registerReward("rank", "mrr", (ctx) => reciprocalRank(ctx.rollout.ranking, ctx.grades));
 *     computeRewards(parsed, grades, layout, { ...DEFAULT_REWARD_CONFIG, rank: "mrr" });
 */
import { countRelevant, ndcgAt, recallAt, type Gain, type Grades } from "../eval/metrics.js";
import type { Rollout, RolloutLayout } from "./layout.js";
import type { RolloutStatus } from "./parse-core.js";

export type RewardPhase = "gen" | "rank";

/** Grades by 1-based pool position; grade > 0 = relevant, absent = 0. */
export type PoolGrades = ReadonlyMap<number, number>;

export interface RewardConfig {
  /** Generation-phase (coverage) reward: built in "recall" (default [paper; formula ours]), "f1", "hit". */
  gen: string;
  /** Ranking-phase (utility) reward: built in "ndcg" (NDCG@k, the default [paper: "e.g. NDCG@k"]). */
  rank: string;
  /** NDCG gain: "linear" (trec_eval, default [ours]) or "exponential" (2^g − 1). */
  gain: Gain;
  /**
   * NDCG's ideal DCG: "absolute" over all gold items (default [ours]) or "slate_conditional"
   * over the gold items the slate holds, which removes the rank reward's dependence on slate
   * quality (SPEC §8).
   */
  idcg: "absolute" | "slate_conditional";
  /** NDCG cutoff; undefined = the layout's k_max [ours]. */
  k?: number;
  /** Rewards of an invalid rollout, per phase (−1 both [summary; value ours]). */
  formatPenalty: { gen: number; rank: number };
}

export const DEFAULT_REWARD_CONFIG: Readonly<RewardConfig> = Object.freeze({
  gen: "recall",
  rank: "ndcg",
  gain: "linear",
  idcg: "absolute",
  formatPenalty: Object.freeze({ gen: -1, rank: -1 }),
});

/** What a phase reward sees. The rollout is always valid: invalid ones never reach a reward. */
export interface RewardContext {
  rollout: Rollout;
  grades: PoolGrades;
  layout: RolloutLayout;
  config: RewardConfig;
}

export type PhaseRewardFn = (ctx: RewardContext) => number;

const registry: Record<RewardPhase, Map<string, PhaseRewardFn>> = { gen: new Map(), rank: new Map() };

/** Registers a reward for one phase. Names are unique per phase unless `replace` is set. */
export function registerReward(phase: RewardPhase, name: string, fn: PhaseRewardFn, opts: { replace?: boolean } = {}): void {
  if (registry[phase].has(name) && !opts.replace) throw new Error(`a ${phase} reward named "${name}" is already registered`);
  registry[phase].set(name, fn);
}

export function rewardNames(phase: RewardPhase): string[] {
  return [...registry[phase].keys()];
}

export function getReward(phase: RewardPhase, name: string): PhaseRewardFn {
  const fn = registry[phase].get(name);
  if (fn === undefined) throw new RangeError(`unknown ${phase} reward "${name}"; registered: ${rewardNames(phase).join(", ")}`);
  return fn;
}

/** Fills defaults and checks every field, naming the field and the allowed values. */
export function resolveRewardConfig(partial: Partial<RewardConfig> = {}): RewardConfig {
  const c: RewardConfig = { ...DEFAULT_REWARD_CONFIG, ...partial, formatPenalty: { ...DEFAULT_REWARD_CONFIG.formatPenalty, ...partial.formatPenalty } };
  const oneOf = (field: string, value: unknown, allowed: readonly string[]): void => {
    if (!allowed.includes(value as string)) throw new RangeError(`reward config "${field}": expected one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  };
  oneOf("gen", c.gen, rewardNames("gen"));
  oneOf("rank", c.rank, rewardNames("rank"));
  oneOf("gain", c.gain, ["linear", "exponential"]);
  oneOf("idcg", c.idcg, ["absolute", "slate_conditional"]);
  if (c.k !== undefined && !(Number.isInteger(c.k) && c.k >= 1)) throw new RangeError(`reward config "k": expected a positive integer, got ${c.k}`);
  for (const p of ["gen", "rank"] as const) {
    if (!Number.isFinite(c.formatPenalty[p])) throw new RangeError(`reward config "formatPenalty.${p}": expected a number, got ${c.formatPenalty[p]}`);
  }
  return c;
}

/**
 * The rewards of one parsed rollout. Invalid rollouts (status other than "ok") get the format
 * penalty on both phases; valid ones the configured phase rewards.
 */
export function computeRewards(
  parsed: Rollout & { status: RolloutStatus },
  grades: PoolGrades,
  layout: RolloutLayout,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
): { gen: number; rank: number } {
  if (parsed.status !== "ok") return { gen: config.formatPenalty.gen, rank: config.formatPenalty.rank };
  const ctx: RewardContext = { rollout: { slate: parsed.slate, ranking: parsed.ranking }, grades, layout, config };
  return { gen: getReward("gen", config.gen)(ctx), rank: getReward("rank", config.rank)(ctx) };
}

/** Pool grades from document grades: position p holds poolDocIds[p − 1]. */
export function gradesByPosition(poolDocIds: readonly string[], gold: Grades): Map<number, number> {
  const out = new Map<number, number>();
  poolDocIds.forEach((doc, i) => {
    const g = gold.get(doc);
    if (g !== undefined) out.set(i + 1, g);
  });
  return out;
}

/** |S ∩ G| / |G| (SPEC §2; with one positive this is hit-or-miss). 0 when G is empty. */
export function slateRecall(ctx: RewardContext): number {
  return recallAt(ctx.rollout.slate, ctx.grades, Number.POSITIVE_INFINITY);
}

/** Harmonic mean of slate precision |S ∩ G|/|S| and recall |S ∩ G|/|G|; 0 when either is 0. */
export function slateF1(ctx: RewardContext): number {
  const total = countRelevant(ctx.grades);
  const slate = new Set(ctx.rollout.slate);
  let hits = 0;
  for (const p of slate) if ((ctx.grades.get(p) ?? 0) > 0) hits++;
  if (hits === 0 || total === 0) return 0;
  const precision = hits / slate.size;
  const recall = hits / total;
  return (2 * precision * recall) / (precision + recall);
}

/** 1 when the slate holds any gold item. */
export function slateHit(ctx: RewardContext): number {
  return ctx.rollout.slate.some((p) => (ctx.grades.get(p) ?? 0) > 0) ? 1 : 0;
}

/** NDCG@k of the ranking, with the configured gain and ideal DCG. */
export function rankNdcg(ctx: RewardContext): number {
  const { config, grades, rollout } = ctx;
  const k = config.k ?? ctx.layout.kMax;
  const ideal = config.idcg === "absolute" ? grades.values() : rollout.slate.map((p) => grades.get(p) ?? 0);
  return ndcgAt(rollout.ranking, grades, k, config.gain, ideal);
}

registerReward("gen", "recall", slateRecall);
registerReward("gen", "f1", slateF1);
registerReward("gen", "hit", slateHit);
registerReward("rank", "ndcg", rankNdcg);
