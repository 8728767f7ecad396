import { Bm25Index, type Bm25Params } from "../bm25.js";
import type { RankingExample } from "../types.js";
import { rankByScores, type PoolRanker } from "./types.js";

/**
 * BM25 for passages: the question is the query, each pool passage ("title: text") a document.
 * Term statistics (idf, average length) come from the corpus given to `fit` (all passages of the
 * loaded questions: no labels involved), or from the pool itself when not fitted.
 */
export class Bm25Ranker implements PoolRanker {
  readonly name = "bm25";
  private index: Bm25Index | null = null;

  constructor(private readonly params: Bm25Params = {}) {}

  fit(corpus: readonly string[]): this {
    this.index = new Bm25Index(corpus, this.params);
    return this;
  }

  score(example: RankingExample): number[] {
    if (example.question === undefined) throw new Error(`bm25 ranks QA pools: example "${example.id}" has no question`);
    const texts = example.pool.map((c) => c.text);
    const index = this.index ?? new Bm25Index(texts, this.params);
    return texts.map((t) => index.scoreText(example.question!, t));
  }

  rankPool(example: RankingExample): string[] {
    return rankByScores(example, this.score(example));
  }
}
