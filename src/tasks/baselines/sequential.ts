import type { RankingExample } from "../types.js";
import { rankByScores, requireHistory, topOfScores, type RecModel } from "./types.js";

export interface ItemKnnOptions {
  /** How many of the most recent history items vote. Default 20. */
  historyWindow?: number;
}

/**
 * Item-based k-NN on co-occurrence: two items are similar when the same training users interacted
 * with both, cosine-normalised: sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i|·|U_j|). A candidate's score is
 * the sum of its similarities to the user's recent history items.
 */
export class ItemKnnModel implements RecModel {
  readonly name = "itemknn";
  private users = new Map<string, number>();
  private co = new Map<string, Map<string, number>>();
  private readonly window: number;

  constructor(opts: ItemKnnOptions = {}) {
    this.window = opts.historyWindow ?? 20;
  }

  fit(trainSequences: readonly (readonly string[])[]): this {
    this.users = new Map();
    this.co = new Map();
    for (const seq of trainSequences) {
      const items = [...new Set(seq)];
      for (const i of items) this.users.set(i, (this.users.get(i) ?? 0) + 1);
      for (const i of items) {
        let row = this.co.get(i);
        if (!row) this.co.set(i, (row = new Map()));
        for (const j of items) if (j !== i) row.set(j, (row.get(j) ?? 0) + 1);
      }
    }
    return this;
  }

  /**
   * Cosine similarity over training users; with `leftOut` (one user's distinct items), as if that
   * user had not been fit on: a user adds 1 to the user count of each of its items and to the
   * co-count of each pair of them.
   */
  similarity(i: string, j: string, leftOut?: ReadonlySet<string>): number {
    const a = leftOut?.has(i) ? 1 : 0, b = leftOut?.has(j) ? 1 : 0;
    const c = (this.co.get(i)?.get(j) ?? 0) - a * b;
    return c <= 0 ? 0 : c / Math.sqrt((this.users.get(i)! - a) * (this.users.get(j)! - b));
  }

  score(history: readonly string[], items: readonly string[]): number[] {
    return this.sumSimilarities(history, items);
  }

  scoreLeavingOut(history: readonly string[], items: readonly string[], sequence: readonly string[]): number[] {
    return this.sumSimilarities(history, items, new Set(sequence));
  }

  private sumSimilarities(history: readonly string[], items: readonly string[], leftOut?: ReadonlySet<string>): number[] {
    const recent = history.slice(-this.window);
    return items.map((c) => recent.reduce((s, h) => s + this.similarity(h, c, leftOut), 0));
  }

  recommend(history: readonly string[], k: number, exclude: ReadonlySet<string>): string[] {
    const scores = new Map<string, number>();
    for (const h of history.slice(-this.window)) {
      for (const j of this.co.get(h)?.keys() ?? []) scores.set(j, (scores.get(j) ?? 0) + this.similarity(h, j));
    }
    return topOfScores(scores, k, exclude);
  }

  rankPool(example: RankingExample): string[] {
    return rankByScores(example, this.score(requireHistory(example, this.name), example.pool.map((c) => c.id)));
  }
}

/**
 * First-order Markov chain: P(next = j | last = i) estimated from consecutive pairs in the
 * training sequences; candidates are scored by the transition count from the user's last item.
 */
export class MarkovModel implements RecModel {
  readonly name = "markov";
  private transitions = new Map<string, Map<string, number>>();

  fit(trainSequences: readonly (readonly string[])[]): this {
    this.transitions = new Map();
    for (const seq of trainSequences) {
      for (let t = 1; t < seq.length; t++) {
        let row = this.transitions.get(seq[t - 1]!);
        if (!row) this.transitions.set(seq[t - 1]!, (row = new Map()));
        row.set(seq[t]!, (row.get(seq[t]!) ?? 0) + 1);
      }
    }
    return this;
  }

  /** Estimated P(next = item | last): count(last → item) / count(last → ·). */
  probability(last: string, item: string): number {
    const row = this.transitions.get(last);
    if (!row) return 0;
    let total = 0;
    for (const n of row.values()) total += n;
    return (row.get(item) ?? 0) / total;
  }

  score(history: readonly string[], items: readonly string[]): number[] {
    return this.scoreLeavingOut(history, items, []);
  }

  /** Transition counts from the last history item, minus the ones `sequence` contributed. */
  scoreLeavingOut(history: readonly string[], items: readonly string[], sequence: readonly string[]): number[] {
    const last = history[history.length - 1];
    const own = new Map<string, number>();
    for (let t = 1; t < sequence.length; t++) if (sequence[t - 1] === last) own.set(sequence[t]!, (own.get(sequence[t]!) ?? 0) + 1);
    const row = last === undefined ? undefined : this.transitions.get(last);
    return items.map((i) => (row?.get(i) ?? 0) - (own.get(i) ?? 0));
  }

  recommend(history: readonly string[], k: number, exclude: ReadonlySet<string>): string[] {
    const row = history.length > 0 ? this.transitions.get(history[history.length - 1]!) : undefined;
    return row ? topOfScores(row, k, exclude) : [];
  }

  rankPool(example: RankingExample): string[] {
    return rankByScores(example, this.score(requireHistory(example, this.name), example.pool.map((c) => c.id)));
  }
}
