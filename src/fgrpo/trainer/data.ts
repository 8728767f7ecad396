/**
 * The trainer's view of a task: examples of each split encoded for a token-vocabulary model,
 * the rollout codec, and the mapping between pool positions and candidate ids that rewards and
 * metrics need.
 */
import { loadTaskData, type SplitName, type TaskData } from "../../tasks/task-data.js";
import { buildTaskVocab } from "../../tasks/vocab.js";
import { promptSymbols } from "../../tasks/prompts.js";
import { goldTarget } from "../../tasks/gold.js";
import type { RankingExample } from "../../tasks/types.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { Rng } from "../../util/random.js";
import { VocabRolloutCodec, rolloutSymbols } from "../grammar-tokens.js";
import { VocabRolloutConstraint } from "../automaton-vocab.js";
import type { RolloutLayout, Rollout } from "../layout.js";
import { gradesByPosition } from "../rewards.js";
import type { TrainConfig } from "./config.js";

/** One prompt ready for the model. */
export interface EncodedExample {
  example: RankingExample;
  promptIds: number[];
  /** Candidate id → grade, by 1-based pool position (what the rewards read). */
  grades: Map<number, number>;
}

export interface TaskSetup {
  data: TaskData;
  vocab: TaskVocab;
  layout: RolloutLayout;
  codec: VocabRolloutCodec;
  constraint: VocabRolloutConstraint;
  train: EncodedExample[];
  /** Encodes any example of the task with this vocabulary. */
  encode(example: RankingExample): EncodedExample;
  /** Examples of an evaluation split (cached per split and limit). */
  evalExamples(split: Exclude<SplitName, "train">, limit?: number): EncodedExample[];
  /** The SFT target completion (token ids, ending with EOS) of an example. */
  goldCompletion(e: EncodedExample, rng: Rng): number[];
  /** Candidate ids of a rollout's ranking and slate (for metrics and run files). */
  toDocIds(e: EncodedExample, r: Rollout): { ranking: string[]; slate: string[] };
}

export function layoutOf(config: TrainConfig): RolloutLayout {
  return { poolSize: config.task.pool_size, nMax: config.layout.n_max, kMax: config.layout.k_max };
}

/**
 * Loads the task and builds the vocabulary from the training examples (plus the layout's
 * symbols), or takes a given vocabulary (when continuing from a checkpoint).
 */
export function setupTask(config: TrainConfig, givenVocab?: TaskVocab): TaskSetup {
  const t = config.task;
  const data = loadTaskData({ task: t.task, data: t.data ?? undefined, poolSize: t.pool_size, seed: config.seed, negatives: t.negatives });
  const promptOpts = { maxHistory: t.max_history, passageWords: t.max_passage_words };
  let trainExamples = data.examples("train");
  // A seeded shuffle before truncation, so `train_examples` takes a sample of users, not the first ones.
  trainExamples = new Rng(config.seed ^ 0x5eed).shuffle(trainExamples.slice());
  if (t.train_examples !== null) trainExamples = trainExamples.slice(0, t.train_examples);
  const layout = layoutOf(config);
  const vocab = givenVocab ?? extendVocab(buildTaskVocab(trainExamples, { ...promptOpts, poolSize: t.pool_size }), layout);
  const codec = new VocabRolloutCodec(vocab, layout);
  const encode = exampleEncoder(config, vocab);
  const evalCache = new Map<string, EncodedExample[]>();
  return {
    data,
    vocab,
    layout,
    codec,
    constraint: new VocabRolloutConstraint(codec),
    train: trainExamples.map(encode),
    encode,
    evalExamples(split, limit) {
      const key = `${split}:${limit ?? "all"}`;
      let v = evalCache.get(key);
      if (!v) evalCache.set(key, (v = data.examples(split, limit).map(encode)));
      return v;
    },
    goldCompletion(e, rng) {
      const target = goldTarget(e.example, { nMax: layout.nMax, kMax: layout.kMax, filler: config.sft.filler, rng });
      return codec.render(target);
    },
    toDocIds(e, r) {
      const id = (p: number) => e.example.pool[p - 1]?.id ?? `?${p}`;
      return { ranking: r.ranking.map(id), slate: r.slate.map(id) };
    },
  };
}

/** Encodes examples into prompt ids with the config's prompt settings (no data needed). */
export function exampleEncoder(config: TrainConfig, vocab: TaskVocab): (example: RankingExample) => EncodedExample {
  const promptOpts = { maxHistory: config.task.max_history, passageWords: config.task.max_passage_words };
  return (example) => ({
    example,
    promptIds: vocab.encode(promptSymbols(example, promptOpts)),
    grades: gradesByPosition(example.pool.map((c) => c.id), example.relevant),
  });
}

/** Adds the layout's tags and ids when the task vocabulary lacks any (a larger pool, say). */
function extendVocab(vocab: TaskVocab, layout: RolloutLayout): TaskVocab {
  const missing = rolloutSymbols(layout).filter((s) => !vocab.has(s));
  if (missing.length === 0) return vocab;
  return new TaskVocab([...vocab.symbols.slice(TaskVocab.specials.length), ...missing]);
}
