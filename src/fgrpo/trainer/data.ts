/**
 * The trainer's view of a task: examples of each split encoded for a token-vocabulary model,
 * the rollout codec, and the mapping between pool positions and candidate ids that rewards and
 * metrics need.
 */
import { loadTaskData, type SplitName, type TaskData } from "../../tasks/task-data.js";
import { buildTaskVocab } from "../../tasks/vocab.js";
import { itemSymbol, promptSymbols } from "../../tasks/prompts.js";
import { goldTarget } from "../../tasks/gold.js";
import type { RankingExample } from "../../tasks/types.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { Rng } from "../../util/random.js";
import { VocabRolloutCodec, rolloutSymbols } from "../grammar-tokens.js";
import { VocabRolloutConstraint } from "../automaton-vocab.js";
import { idSymbol, type RolloutLayout, type Rollout } from "../layout.js";
import { MultiConstraint } from "../multi-constraint.js";
import type { TokenConstraint } from "../../generation/constraint.js";
import { gradesByPosition } from "../rewards.js";
import { idTokensOf, type TrainConfig } from "./config.js";

/** One prompt ready for the model. */
export interface EncodedExample {
  example: RankingExample;
  promptIds: number[];
  /** Candidate id → grade, by 1-based pool position (what the rewards read). */
  grades: Map<number, number>;
  /** Renders and parses this pool's completions (its own id tokens with `layout.id_tokens: item`). */
  codec: VocabRolloutCodec;
  constraint: VocabRolloutConstraint;
}

export interface TaskSetup {
  data: TaskData;
  vocab: TaskVocab;
  layout: RolloutLayout;
  /** The "[i]" codec of the layout: the tags (shared by every pool's codec) and the pool_id style. */
  codec: VocabRolloutCodec;
  train: EncodedExample[];
  /** The constraint of a batch of prompts (prompt i follows examples[i]'s pool). */
  batchConstraint(examples: readonly EncodedExample[]): TokenConstraint<unknown>;
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
  const data = loadTaskData({ task: t.task, data: t.data ?? undefined, poolSize: t.pool_size, seed: config.seed, negatives: t.negatives, firstStage: t.first_stage ?? undefined });
  const promptOpts = { maxHistory: t.max_history, passageWords: t.max_passage_words };
  let trainExamples = data.examples("train");
  // A seeded shuffle before truncation, so `train_examples` takes a sample of users, not the first ones.
  trainExamples = new Rng(config.seed ^ 0x5eed).shuffle(trainExamples.slice());
  if (t.train_examples !== null) trainExamples = trainExamples.slice(0, t.train_examples);
  const layout = layoutOf(config);
  const vocab = givenVocab ?? extendVocab(buildTaskVocab(trainExamples, { ...promptOpts, poolSize: t.pool_size }), layout);
  const encode = exampleEncoder(config, vocab, layout);
  const codec = new VocabRolloutCodec(vocab, layout);
  const evalCache = new Map<string, EncodedExample[]>();
  return {
    data,
    vocab,
    layout,
    codec,
    train: trainExamples.map(encode),
    batchConstraint: (examples) => batchConstraint(examples),
    encode,
    evalExamples(split, limit) {
      const key = `${split}:${limit ?? "all"}`;
      let v = evalCache.get(key);
      if (!v) evalCache.set(key, (v = data.examples(split, limit).map(encode)));
      return v;
    },
    goldCompletion(e, rng) {
      const target = goldTarget(e.example, { nMax: layout.nMax, kMax: layout.kMax, filler: config.sft.filler, rng });
      return e.codec.render(target);
    },
    toDocIds(e, r) {
      const id = (p: number) => e.example.pool[p - 1]?.id ?? `?${p}`;
      return { ranking: r.ranking.map(id), slate: r.slate.map(id) };
    },
  };
}

/**
 * Encodes examples into prompt ids with the config's prompt settings (no data needed), with the
 * codec and constraint of each pool. `layout` defaults to the config's; a smaller pool (a
 * user's request) gets a layout of its own size.
 */
export function exampleEncoder(config: TrainConfig, vocab: TaskVocab, layout: RolloutLayout = layoutOf(config)): (example: RankingExample) => EncodedExample {
  const promptOpts = { maxHistory: config.task.max_history, passageWords: config.task.max_passage_words };
  const shared = new Map<number, { codec: VocabRolloutCodec; constraint: VocabRolloutConstraint }>();
  const poolIdCodec = (size: number) => {
    let c = shared.get(size);
    if (!c) {
      const codec = new VocabRolloutCodec(vocab, poolLayout(layout, size));
      shared.set(size, (c = { codec, constraint: new VocabRolloutConstraint(codec) }));
    }
    return c;
  };
  return (example) => {
    let pair = poolIdCodec(example.pool.length);
    if (idTokensOf(config) === "item") {
      const codec = new VocabRolloutCodec(vocab, poolLayout(layout, example.pool.length), itemIdTokens(vocab, example));
      pair = { codec, constraint: new VocabRolloutConstraint(codec) };
    }
    return {
      example,
      promptIds: vocab.encode(promptSymbols(example, promptOpts)),
      grades: gradesByPosition(example.pool.map((c) => c.id), example.relevant),
      ...pair,
    };
  };
}

/** The layout of a pool of `size` candidates (requests may bring fewer than N). */
function poolLayout(layout: RolloutLayout, size: number): RolloutLayout {
  if (size === layout.poolSize) return layout;
  const nMax = Math.min(layout.nMax, size);
  return { poolSize: size, nMax, kMax: Math.min(layout.kMax, nMax) };
}

/**
 * Each candidate's own item token, or its "[i]" token when the vocabulary lacks the item or two
 * candidates would share a token (so every position stays addressable).
 */
function itemIdTokens(vocab: TaskVocab, example: RankingExample): Int32Array {
  const tokens = example.pool.map((c) => (vocab.has(itemSymbol(c.id)) ? vocab.id(itemSymbol(c.id)) : -1));
  const seen = new Set<number>();
  return Int32Array.from(tokens, (t, i) => {
    if (t < 0 || seen.has(t)) return vocab.id(idSymbol(i + 1), true);
    seen.add(t);
    return t;
  });
}

/** One constraint for a batch: the shared one when every pool uses it, else one per prompt. */
export function batchConstraint(examples: readonly EncodedExample[]): TokenConstraint<unknown> {
  const first = examples[0]?.constraint;
  if (first && examples.every((e) => e.constraint === first)) return first as TokenConstraint<unknown>;
  return new MultiConstraint(examples.map((e) => e.constraint)) as TokenConstraint<unknown>;
}

/** Adds the layout's tags and ids when the task vocabulary lacks any (a larger pool, say). */
function extendVocab(vocab: TaskVocab, layout: RolloutLayout): TaskVocab {
  const missing = rolloutSymbols(layout).filter((s) => !vocab.has(s));
  if (missing.length === 0) return vocab;
  return new TaskVocab([...vocab.symbols.slice(TaskVocab.specials.length), ...missing]);
}
