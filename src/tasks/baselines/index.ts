import { Bm25Ranker } from "./bm25.js";
import { ItemKnnModel, MarkovModel } from "./sequential.js";
import { PopularityModel, RandomRanker, RetrieverOrderRanker } from "./simple.js";
import type { PoolRanker, RecModel } from "./types.js";
import type { TaskName } from "../types.js";
import { AttributeRanker } from "../synthetic/baseline.js";

export { Bm25Ranker } from "./bm25.js";
export { ItemKnnModel, MarkovModel, type ItemKnnOptions } from "./sequential.js";
export { PopularityModel, RandomRanker, RetrieverOrderRanker } from "./simple.js";
export { rankByScores, type PoolRanker, type RecModel } from "./types.js";

/** Baselines per task, by the names the CLI accepts. */
export const REC_BASELINES = ["random", "popularity", "itemknn", "markov", "retriever"] as const;
export const QA_BASELINES = ["random", "bm25", "retriever"] as const;
export const SYNTHETIC_BASELINES = ["random", "attributes"] as const;

/** The baseline names of a task. */
export function baselinesOf(task: TaskName): readonly string[] {
  return task === "rec" ? REC_BASELINES : task === "qa" ? QA_BASELINES : SYNTHETIC_BASELINES;
}

export interface BaselineInputs {
  seed?: number;
  /** Rec: the training sequences models are fit on. */
  trainSequences?: readonly (readonly string[])[];
  /** QA: passages for BM25 term statistics. */
  corpus?: readonly string[];
}

/** A ready-to-use (fitted) baseline by name; unknown names throw with the allowed list. */
export function makeBaseline(task: TaskName, name: string, inputs: BaselineInputs = {}): PoolRanker {
  const allowed = baselinesOf(task);
  if (!allowed.includes(name)) throw new Error(`unknown ${task} baseline "${name}" (allowed: ${allowed.join(", ")})`);
  switch (name) {
    case "random":
      return new RandomRanker(inputs.seed ?? 0);
    case "attributes":
      return new AttributeRanker();
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
