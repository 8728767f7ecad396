/**
 * The trainer's view of a task: examples of each split encoded by the policy codec (a task
 * vocabulary or a pretrained model's tokenizer), each with its pool's rollout codec and grammar
 * automaton, and the mapping between pool positions and candidate ids that rewards and metrics
 * need.
 */
import { loadTaskData, type SplitName, type TaskData } from "../../tasks/task-data.js";
import { buildTaskVocab } from "../../tasks/vocab.js";
import { sftTarget } from "../../tasks/gold.js";
import type { RankingExample } from "../../tasks/types.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { Rng } from "../../util/random.js";
import { exampleRng } from "../../tasks/seed.js";
import { parseNegatives } from "../../tasks/pools.js";
import { VocabRolloutCodec, rolloutSymbols } from "../grammar-tokens.js";
import { type RolloutLayout, type Rollout } from "../layout.js";
import { MultiConstraint } from "../multi-constraint.js";
import type { TokenConstraint } from "../../generation/constraint.js";
import { gradesByPosition } from "../rewards.js";
import { poolOrderOf, type TrainConfig } from "./config.js";
import { InputError } from "../../util/errors.js";
import { TaskVocabCodec, type PolicyCodec, type RolloutCodec } from "./policy-codec.js";

/** One prompt ready for the model. */
export interface EncodedExample {
  example: RankingExample;
  /** The prompt ids (computed on first access, then kept). */
  readonly promptIds: number[];
  /** Candidate id → grade, by 1-based pool position (what the rewards read). */
  grades: Map<number, number>;
  /** Renders and parses this pool's completions (its own id tokens with `layout.id_tokens: item`). */
  codec: RolloutCodec;
  constraint: TokenConstraint<unknown>;
}

export interface TaskSetup {
  data: TaskData;
  /** How the policy reads prompts and writes completions (task vocabulary or text). */
  policyCodec: PolicyCodec;
  layout: RolloutLayout;
  /**
   * The task vocabulary and its "[i]" codec (the tags shared by every pool's codec), for the
   * methods that splice token-level slates (decoupled); an InputError in text mode.
   */
  taskVocab(): { vocab: TaskVocab; codec: VocabRolloutCodec };
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
 * symbols), or takes a given policy codec (a checkpoint's vocabulary or tokenizer).
 */
export function setupTask(config: TrainConfig, givenCodec?: PolicyCodec): TaskSetup {
  const t = config.task;
  const s = t.synthetic;
  const data = loadTaskData({
    task: t.task, data: t.data ?? undefined, poolSize: t.pool_size, seed: config.seed, negatives: t.negatives, trainNegatives: t.train_negatives === null ? undefined : parseNegatives(t.train_negatives), firstStage: t.first_stage ?? undefined, poolOrder: poolOrderOf(config),
    synthetic: { goldSize: s.gold_size, categories: s.categories, grades: s.grades, gradeNoise: s.grade_noise, examples: s.examples },
  });
  let trainExamples = data.examples("train");
  // A seeded shuffle before truncation, so `train_examples` takes a sample of users, not the first ones.
  trainExamples = new Rng(config.seed ^ 0x5eed).shuffle(trainExamples.slice());
  if (t.train_examples !== null) trainExamples = trainExamples.slice(0, t.train_examples);
  const layout = layoutOf(config);
  const policyCodec = givenCodec ?? new TaskVocabCodec(config, taskVocabOf(config, trainExamples));
  const encode = exampleEncoder(policyCodec, layout);
  const vocabCodec = policyCodec instanceof TaskVocabCodec ? new VocabRolloutCodec(policyCodec.vocab, layout) : null;
  const evalCache = new Map<string, EncodedExample[]>();
  return {
    data,
    policyCodec,
    layout,
    taskVocab() {
      if (!(policyCodec instanceof TaskVocabCodec) || vocabCodec === null) throw new InputError("this method splices token-level slates and needs a task-vocabulary model; text models (model.checkpoint with tokenizer.json) train with sft, fgrpo, grpo and gspo", { field: "model.checkpoint" });
      return { vocab: policyCodec.vocab, codec: vocabCodec };
    },
    // Extra pool orders after the vocabulary is built: the copies hold the same words.
    train: withPoolOrders(trainExamples, t.train_pool_orders, config.seed).map(encode),
    batchConstraint: (examples) => batchConstraint(examples),
    encode,
    evalExamples(split, limit) {
      const key = `${split}:${limit ?? "all"}`;
      let v = evalCache.get(key);
      if (!v) evalCache.set(key, (v = evalSample(data, split, limit, t.eval_sample).map(encode)));
      return v;
    },
    goldCompletion(e, rng) {
      // Synthetic pools have no first stage, so the default retriever filler becomes random; and
      // the slate is taught as a set (random order): an item-token model does not see positions,
      // and an order by grade would teach the ranking inside the slate phase.
      const synthetic = t.task === "synthetic";
      const filler = synthetic && config.sft.filler === "retriever" ? "random" : config.sft.filler;
      const target = sftTarget(e.example, config.sft.target, { nMax: layout.nMax, kMax: layout.kMax, filler, rng, slateOrder: synthetic ? "random" : undefined });
      return e.codec.render(target);
    },
    toDocIds(e, r) {
      const id = (p: number) => e.example.pool[p - 1]?.id ?? `?${p}`;
      return { ranking: r.ranking.map(id), slate: r.slate.map(id) };
    },
  };
}

/**
 * The examples plus K − 1 copies of each with its candidates reshuffled (seeded by the seed, the
 * copy and the example id; grades and retriever lists are by candidate id, so they follow). With
 * "[i]" labels a model can fit fixed training pools by memorising which labels a question's gold
 * passages carry; over several orders only reading the passages fits them.
 */
export function withPoolOrders(examples: readonly RankingExample[], k: number, seed: number): RankingExample[] {
  const out = [...examples];
  for (let j = 1; j < k; j++) for (const ex of examples) out.push({ ...ex, pool: exampleRng(seed + j, `pool-order:${ex.id}`).shuffle(ex.pool.slice()) });
  return out;
}

/**
 * Encodes examples into prompt ids with the policy codec, with the rollout codec and constraint
 * of each pool. A pool smaller than `layout.poolSize` (a user's request) gets a layout of its
 * own size.
 */
export function exampleEncoder(codec: PolicyCodec, layout: RolloutLayout): (example: RankingExample) => EncodedExample {
  return (example) => {
    let promptIds: number[] | null = null;
    return {
      example,
      // Encoded on first use: a text prompt costs milliseconds of tokenization, and a run
      // samples only some of its thousands of training prompts.
      get promptIds() {
        return (promptIds ??= codec.encodePrompt(example));
      },
      grades: gradesByPosition(example.pool.map((c) => c.id), example.relevant),
      ...codec.grammar(example, poolLayout(layout, example.pool.length)),
    };
  };
}

/** The layout of a pool of `size` candidates (requests may bring fewer than N). */
function poolLayout(layout: RolloutLayout, size: number): RolloutLayout {
  if (size === layout.poolSize) return layout;
  const nMax = Math.min(layout.nMax, size);
  return { poolSize: size, nMax, kMax: Math.min(layout.kMax, nMax) };
}

/** One constraint for a batch: the shared one when every pool uses it, else one per prompt. */
export function batchConstraint(examples: readonly EncodedExample[]): TokenConstraint<unknown> {
  const first = examples[0]?.constraint;
  if (first && examples.every((e) => e.constraint === first)) return first as TokenConstraint<unknown>;
  return new MultiConstraint(examples.map((e) => e.constraint)) as TokenConstraint<unknown>;
}

/**
 * The task vocabulary a new model of this config gets: the symbols of the training prompts plus
 * the layout's (also what a warm start's vocabulary is checked against, see decoupled.ts).
 */
export function taskVocabOf(config: TrainConfig, trainExamples: readonly RankingExample[]): TaskVocab {
  const t = config.task;
  return extendVocab(buildTaskVocab(trainExamples, { maxHistory: t.max_history, passageWords: t.max_passage_words, poolSize: t.pool_size }), layoutOf(config));
}

/** Adds the layout's tags and ids when the task vocabulary lacks any (a larger pool, say). */
function extendVocab(vocab: TaskVocab, layout: RolloutLayout): TaskVocab {
  const missing = rolloutSymbols(layout).filter((s) => !vocab.has(s));
  if (missing.length === 0) return vocab;
  return new TaskVocab([...vocab.symbols.slice(TaskVocab.specials.length), ...missing]);
}

/** Seed of `task.eval_sample: random`: fixed, so every seed and method sees the same users. */
const EVAL_SAMPLE_SEED = 0x5eed;

/** The evaluation examples a limit keeps: the head of the split, or a seeded sample in file order. */
export function evalSample(data: TaskData, split: Exclude<SplitName, "train">, limit: number | undefined, how: "head" | "random"): RankingExample[] {
  if (how === "head" || limit === undefined) return data.examples(split, limit);
  const all = data.examples(split);
  if (limit >= all.length) return all;
  const idx = all.map((_, i) => i);
  const rng = new Rng(EVAL_SAMPLE_SEED);
  // Partial Fisher–Yates: the first `limit` slots are a uniform sample without replacement.
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(all.length - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, limit).sort((a, b) => a - b).map((i) => all[i]!);
}
