import type { RankingExample } from "../types.js";

/** Anything that orders a pool: returns every pool id, best first. */
export interface PoolRanker {
  readonly name: string;
  rankPool(example: RankingExample): string[];
}

/**
 * A classic recommender: fit on training sequences, then scores items for a history. It ranks
 * pools, and as a first stage (`recommend`) it produces candidate lists for retriever pools or
 * decoupled pipelines.
 */
export interface RecModel extends PoolRanker {
  fit(trainSequences: readonly (readonly string[])[]): this;
  /** One score per item (higher = better). */
  score(history: readonly string[], items: readonly string[]): number[];
  /** Up to `k` items not in `exclude`, best first (only items with a positive score). */
  recommend(history: readonly string[], k: number, exclude: ReadonlySet<string>): string[];
  /**
   * `score` as if `sequence`, one of the training sequences, had not been fit on. A training
   * prefix's own sequence holds its target (and later items that may be drawn as negatives), so
   * scores of the full fit leak the answer on training pools; left out, they are what an
   * evaluation user, never fit on in that role, gets. Needed to order training pools by this
   * model (`RecPoolOptions.orderByRank`); the classic models all have it.
   */
  scoreLeavingOut?(history: readonly string[], items: readonly string[], sequence: readonly string[]): number[];
}

/**
 * Orders a pool by score, best first. Ties keep pool order, and since pools are shuffled
 * that is a random tie-break that does not favour the positive.
 */
export function rankByScores(example: RankingExample, scores: readonly number[]): string[] {
  return example.pool
    .map((c, i) => ({ id: c.id, s: scores[i]!, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((e) => e.id);
}

/** The top `k` entries of a sparse score map, excluding ids; ties by id for determinism. */
export function topOfScores(scores: ReadonlyMap<string, number>, k: number, exclude: ReadonlySet<string>): string[] {
  return [...scores]
    .filter(([id, s]) => s > 0 && !exclude.has(id))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k)
    .map(([id]) => id);
}

export function requireHistory(example: RankingExample, who: string): string[] {
  if (!example.history) throw new Error(`${who} ranks recommendation pools: example "${example.id}" has no history`);
  return example.history;
}
