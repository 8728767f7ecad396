import { Bm25Ranker } from "./bm25.js";
import { ItemKnnModel, MarkovModel } from "./sequential.js";
import { PopularityModel, RandomRanker, RetrieverOrderRanker } from "./simple.js";
import type { PoolRanker, RecModel } from "./types.js";

export { Bm25Ranker } from "./bm25.js";
export { ItemKnnModel, MarkovModel, type ItemKnnOptions } from "./sequential.js";
export { PopularityModel, RandomRanker, RetrieverOrderRanker } from "./simple.js";
export { rankByScores, type PoolRanker, type RecModel } from "./types.js";

/** Baselines per task, by the names the CLI accepts. */
export const REC_BASELINES = ["random", "popularity", "itemknn", "markov", "retriever"] as const;
export const QA_BASELINES = ["random", "bm25", "retriever"] as const;

export interface BaselineInputs {
  seed?: number;
  /** Rec: the training sequences models are fit on. */
  trainSequences?: readonly (readonly string[])[];
  /** QA: passages for BM25 term statistics. */
  corpus?: readonly string[];
}

/** A ready-to-use (fitted) baseline by name; unknown names throw with the allowed list. */
export function makeBaseline(task: "rec" | "qa", name: string, inputs: BaselineInputs = {}): PoolRanker {
  const allowed: readonly string[] = task === "rec" ? REC_BASELINES : QA_BASELINES;
  if (!allowed.includes(name)) throw new Error(`unknown ${task} baseline "${name}" (allowed: ${allowed.join(", ")})`);
  switch (name) {
    case "random":
      return new RandomRanker(inputs.seed ?? 0);
    case "retriever":
      return new RetrieverOrderRanker();
    case "bm25":
      return inputs.corpus ? new Bm25Ranker().fit(inputs.corpus) : new Bm25Ranker();
    default:
      return makeRecModel(name, inputs.trainSequences ?? []);
  }
}

/** A fitted classic recommender (popularity, itemknn, markov), e.g. as a first stage. */
export function makeRecModel(name: string, trainSequences: readonly (readonly string[])[]): RecModel {
  const model: RecModel | undefined =
    name === "popularity" ? new PopularityModel() : name === "itemknn" ? new ItemKnnModel() : name === "markov" ? new MarkovModel() : undefined;
  if (!model) throw new Error(`unknown recommender "${name}" (allowed: popularity, itemknn, markov)`);
  return model.fit(trainSequences);
}
