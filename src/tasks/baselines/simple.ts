import { Rng } from "../../util/random.js";
import { exampleRng } from "../seed.js";
import type { RankingExample } from "../types.js";
import { rankByScores, topOfScores, type PoolRanker, type RecModel } from "./types.js";

/** A uniformly random order per example, seeded (and independent of example order). */
export class RandomRanker implements PoolRanker {
  readonly name = "random";
  constructor(private readonly seed = 0) {}

  rankPool(example: RankingExample): string[] {
    const rng: Rng = exampleRng(this.seed ^ 0x5eed, example.id);
    return rng.shuffle(example.pool.map((c) => c.id));
  }
}

/** Most interacted-with items first (counts in the training sequences). */
export class PopularityModel implements RecModel {
  readonly name = "popularity";
  private counts = new Map<string, number>();

  fit(trainSequences: readonly (readonly string[])[]): this {
    this.counts = new Map();
    for (const seq of trainSequences) for (const i of seq) this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    return this;
  }

  score(history: readonly string[], items: readonly string[]): number[] {
    return this.scoreLeavingOut(history, items, []);
  }

  /** Training counts minus the occurrences in `sequence`. */
  scoreLeavingOut(_history: readonly string[], items: readonly string[], sequence: readonly string[]): number[] {
    const own = new Map<string, number>();
    for (const i of sequence) own.set(i, (own.get(i) ?? 0) + 1);
    return items.map((i) => (this.counts.get(i) ?? 0) - (own.get(i) ?? 0));
  }

  recommend(_history: readonly string[], k: number, exclude: ReadonlySet<string>): string[] {
    return topOfScores(this.counts, k, exclude);
  }

  rankPool(example: RankingExample): string[] {
    return rankByScores(example, this.score([], example.pool.map((c) => c.id)));
  }
}

/**
 * The retriever's own order (e.g. the SASRec top-100 of Games-6k): `example.retrieverRank`.
 * Pools without one are an error: this baseline only makes sense for retriever pools.
 */
export class RetrieverOrderRanker implements PoolRanker {
  readonly name = "retriever";

  rankPool(example: RankingExample): string[] {
    if (!example.retrieverRank) {
      throw new Error(`the retriever baseline needs pools built from a retriever (negatives "retriever"); example "${example.id}" has no retrieverRank`);
    }
    return example.retrieverRank.slice();
  }
}
