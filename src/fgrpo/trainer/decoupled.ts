/**
 * Decoupled pipelines (SPEC §6), the baselines the unified model is compared with:
 *
 * - `decoupled-sft`: a selector model trained to write the gold slate, and a separate ranker
 *   model trained to rank given the gold slate (appended to its prompt), chained at inference:
 *   the ranker ranks the selector's slate.
 * - `decoupled-rl`: the same two models, each then trained with RL on its own reward — the
 *   selector on coverage (R_gen), the ranker on NDCG (R_rank) of rankings of the selector's slates.
 * - `classic-ranker`: a classic first stage (item-kNN for rec, BM25 for QA) picks the slate, the
 *   trained ranker ranks it.
 *
 * Both models use the unified grammar and automaton; the selector stops at </SLATE>, and the
 * ranker's automaton starts after the slate its prompt holds (PrefixedConstraint).
 */
import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic-write.js";
import * as T from "../../torch/index.js";
import { generate } from "../../generation/generate.js";
import { makeBaseline } from "../../tasks/baselines/index.js";
import { Rng } from "../../util/random.js";
import { PrefixedConstraint } from "../prefixed-constraint.js";
import { maxCompletionTokens } from "../layout.js";
import { batchPhaseMasks } from "../phase-masks.js";
import { groupRelativeAdvantages } from "../advantages.js";
import { computeRewards } from "../rewards.js";
import { grpoLoss, meanTokenEntropy } from "../objectives.js";
import { scoreCompletions } from "../../generation/score.js";
import type { TrainConfig } from "./config.js";
import type { TokenConstraint } from "../../generation/constraint.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import { createPolicy, disposePolicy, savePolicy, loadPolicyWeights, type PolicyModel } from "./policy.js";
import { TrainingLoop } from "./loop.js";
import type { TaskVocabCodec } from "./policy-codec.js";
import { historyLossOf, sftStep, type SftPair } from "./sft.js";
import { initItemEmbeddings } from "./item-embeddings.js";
import { scoreOutputs } from "./evaluate.js";
import { clipBounds } from "./config.js";
import { rewardConfigOf } from "./rl-step.js";
import type { RunHooks } from "./run.js";
import type { EvalSummary } from "../../eval/metrics.js";

export const DECOUPLED_METHODS = ["decoupled-sft", "decoupled-rl", "classic-ranker"] as const;

/** Splits a gold completion into its slate part (through </SLATE>) and its ranking part. */
function splitCompletion(task: TaskSetup, completion: number[]): { slate: number[]; rank: number[] } {
  const end = completion.indexOf(task.taskVocab().codec.closeSlate) + 1;
  return { slate: completion.slice(0, end), rank: completion.slice(end) };
}

function selectorPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  return { prompt: e.promptIds, completion: splitCompletion(task, task.goldCompletion(e, rng)).slate, constraint: e.constraint as TokenConstraint<unknown> };
}

function rankerPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  const { slate, rank } = splitCompletion(task, task.goldCompletion(e, rng));
  return { prompt: [...e.promptIds, ...slate], completion: rank, constraint: e.constraint as TokenConstraint<unknown>, constraintPrefix: slate };
}

/** Slates (`<SLATE> … </SLATE>` tokens) written by the selector, greedily or sampled. */
function selectSlates(selector: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], opts: { greedy: boolean; numGenerations?: number; seed?: number; temperature?: number }) {
  return T.noGrad(() =>
    generate(selector.model, examples.map((e) => e.promptIds), {
      maxNewTokens: task.layout.nMax + 2,
      greedy: opts.greedy,
      temperature: opts.temperature,
      numGenerations: opts.numGenerations,
      seed: opts.seed,
      stopTokens: [task.taskVocab().codec.closeSlate],
      constraint: task.batchConstraint(examples),
    }),
  );
}

/** Rankings (`<RANK> … </RANK> <eos>`) of given slates by the ranker. */
function rankSlates(ranker: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], slates: number[][], opts: { greedy: boolean; numGenerations?: number; seed?: number; temperature?: number }) {
  const constraint = new PrefixedConstraint(task.batchConstraint(examples), slates);
  return T.noGrad(() =>
    generate(ranker.model, examples.map((e, i) => [...e.promptIds, ...slates[i]!]), {
      maxNewTokens: task.layout.kMax + 3,
      greedy: opts.greedy,
      temperature: opts.temperature,
      numGenerations: opts.numGenerations,
      seed: opts.seed,
      stopTokens: [task.taskVocab().vocab.eosId],
      constraint,
    }),
  );
}

/** The slate tokens of a classic first stage: its top-n_max of the pool, in pool order. */
function classicSlates(task: TaskSetup, examples: readonly EncodedExample[], seed: number): number[][] {
  const name = task.data.task === "rec" ? "itemknn" : task.data.task === "qa" ? "bm25" : "attributes";
  const ranker = makeBaseline(task.data.task, name, { ...task.data.baselineInputs(task.data.task === "qa" ? "test" : "train"), seed });
  return examples.map((e) => {
    const pos = new Map(e.example.pool.map((c, i) => [c.id, i + 1]));
    const top = ranker.rankPool(e.example).slice(0, task.layout.nMax).map((id) => pos.get(id)!).sort((a, b) => a - b);
    return splitCompletion(task, e.codec.render({ slate: top, ranking: [top[0]!] })).slate;
  });
}

function trainSft(name: string, config: TrainConfig, task: TaskSetup, pairOf: (e: EncodedExample, rng: Rng) => SftPair, hooks: RunHooks): PolicyModel {
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
  initItemEmbeddings(policy, config, task);
  const loop = new TrainingLoop({
    phase: name, section: "sft", outputDir: config.output_dir, params: policy.model.trainableParameters(), settings: config.sft, seed: config.seed * 2 + 1, config,
    saveModel: (dir) => savePolicy(policy, dir), loadModel: (dir) => loadPolicyWeights(policy, dir), bestMetric: "ndcg@5",
    maxConsecutiveFailures: config.rl.max_consecutive_failures, log: hooks.log, emaDecay: config.sft.ema_decay,
  });
  try {
    loop.resume();
    const history = historyLossOf(config, task.policyCodec);
    while (!loop.done) {
      sftStep(policy, task, loop, config.sft.batch_size, config.rl.constrained_decoding, pairOf, config.sft.dropout, history);
      if (loop.shouldSave()) loop.save();
    }
    loop.useEvaluatedWeights();
    return policy;
  } finally {
    loop.dispose();
  }
}

/**
 * RL for one stage with its own reward and a GRPO objective (one stage, one reward: the joint and
 * factorized objectives coincide). `stage` "selector" samples slates and is rewarded with R_gen;
 * "ranker" samples rankings of the selector's greedy slates and is rewarded with R_rank.
 */
function trainRlStage(stage: "selector" | "ranker", config: TrainConfig, task: TaskSetup, policy: PolicyModel, selector: PolicyModel, hooks: RunHooks): void {
  const rl = config.rl;
  const reward = rewardConfigOf(rl);
  const loop = new TrainingLoop({
    phase: `${stage}-rl`, section: "rl", outputDir: config.output_dir, params: policy.model.trainableParameters(), settings: rl, seed: config.seed * 2 + 2, config,
    saveModel: (dir) => savePolicy(policy, dir), loadModel: (dir) => loadPolicyWeights(policy, dir), bestMetric: "ndcg@5",
    maxConsecutiveFailures: rl.max_consecutive_failures, log: hooks.log,
  });
  const g = rl.num_generations;
  try {
    loop.resume();
    while (!loop.done) {
      const lr = loop.currentLr();
      const examples = Array.from({ length: rl.prompts_per_step }, () => task.train[loop.dataRng.int(task.train.length)]!);
      const prompts = examples.map((e) => e.promptIds);
      const seed = loop.dataRng.nextUint32();
      let stagePrompts = prompts;
      let completions: number[][];
      let full: number[][];
      let constraint;
      if (stage === "selector") {
        completions = selectSlates(policy, task, examples, { greedy: false, numGenerations: g, seed, temperature: rl.temperature }).completions;
        // A slate alone does not parse: complete it with a one-id ranking (its first id). R_gen,
        // the only reward used here, does not read the ranking.
        const { codec } = task.taskVocab();
        full = completions.map((s) => [...s, codec.openRank, s[1]!, codec.closeRank, codec.eos]);
        constraint = task.batchConstraint(examples);
      } else {
        const slates = selectSlates(selector, task, examples, { greedy: true }).completions;
        stagePrompts = prompts.map((p, i) => [...p, ...slates[i]!]);
        constraint = new PrefixedConstraint(task.batchConstraint(examples), slates);
        completions = rankSlates(policy, task, examples, slates, { greedy: false, numGenerations: g, seed, temperature: rl.temperature }).completions;
        full = completions.map((c, i) => [...slates[Math.floor(i / g)]!, ...c]);
      }
      const parsed = full.map((c, i) => examples[Math.floor(i / g)]!.codec.parse(c));
      const rewards = parsed.map((p, i) => computeRewards(p, examples[Math.floor(i / g)]!.grades, task.layout, reward)[stage === "selector" ? "gen" : "rank"]);
      const adv = groupRelativeAdvantages(rewards, g, { scaleRewards: rl.scale_rewards, eps: 1e-4 });
      const r = T.tidy(() => {
        const scored = scoreCompletions(policy.model, stagePrompts, completions, { groupOf: completions.map((_, i) => Math.floor(i / g)), constraint, temperature: rl.temperature });
        const width = scored.logprobs.size(1);
        const mask = batchPhaseMasks(completions.map((c) => ({ slateSpan: { start: 0, end: c.length }, rankSpan: null, length: c.length })), width);
        const completionMask = T.tensor(mask.completion, { shape: [completions.length, width] });
        const out = grpoLoss({ logprobs: scored.logprobs, oldLogprobs: scored.logprobs.detach(), completionMask, adv: T.tensor(Float32Array.from(adv.advantages)) }, { ...clipBounds({ ...rl, method: "grpo" }), beta: 0, lossType: rl.loss_type, maxCompletionLength: maxCompletionTokens(task.layout) });
        out.loss.backward();
        return { loss: out.loss.item(), entropy: meanTokenEntropy(scored.entropy, completionMask) };
      });
      const norm = loop.update(r.loss);
      loop.step += 1;
      loop.logger.log({ step: loop.step, phase: `${stage}-rl`, loss: r.loss, reward_mean: adv.stats.rewardMean, reward_std: adv.stats.rewardStd, zero_var_frac: adv.stats.zeroVarianceFraction, entropy: r.entropy, grad_norm: norm, learning_rate: lr });
      if (loop.shouldSave()) loop.save();
    }
  } finally {
    loop.dispose();
  }
}

/** Greedy chained predictions of a selector (or a classic first stage) and a ranker. */
export function chainedCompletions(task: TaskSetup, examples: readonly EncodedExample[], ranker: PolicyModel, selector: PolicyModel | null, seed: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < examples.length; i += 64) {
    const chunk = examples.slice(i, i + 64);
    const slates = selector ? selectSlates(selector, task, chunk, { greedy: true }).completions : classicSlates(task, chunk, seed);
    const ranks = rankSlates(ranker, task, chunk, slates, { greedy: true }).completions;
    slates.forEach((s, k) => out.push([...s, ...ranks[k]!]));
  }
  return out;
}

/** Trains the method's models and evaluates the chain on `examples`. */
export function runDecoupled(method: string, config: TrainConfig, task: TaskSetup, examples: readonly EncodedExample[], hooks: RunHooks = {}): { perQuery: EvalSummary["perQuery"]; means: Record<string, number> } {
  task.taskVocab(); // text models cannot run these methods: fail before any training
  T.manualSeed(config.seed);
  writeFileAtomic(join(config.output_dir, "config.json"), JSON.stringify(config, null, 1));
  const ranker = trainSft("ranker", config, task, (e, rng) => rankerPair(task, e, rng), hooks);
  let selector: PolicyModel | null = null;
  try {
    if (method !== "classic-ranker") selector = trainSft("selector", config, task, (e, rng) => selectorPair(task, e, rng), hooks);
    if (method === "decoupled-rl") {
      trainRlStage("selector", config, task, selector!, selector!, hooks);
      trainRlStage("ranker", config, task, ranker, selector!, hooks);
    }
    savePolicy(ranker, join(config.output_dir, "ranker-final"));
    if (selector) savePolicy(selector, join(config.output_dir, "selector-final"));
    const r = scoreOutputs(task, examples, chainedCompletions(task, examples, ranker, selector, config.seed), config.seed);
    writeFileAtomic(join(config.output_dir, "results.json"), JSON.stringify({ sft: null, rl: null, sft_validity: null, rl_validity: null, pipeline: method, means: r.means, validity: r.statusCounts, eval_examples: examples.length }, null, 1));
    return { perQuery: r.summary.perQuery, means: r.means };
  } finally {
    disposePolicy(ranker);
    if (selector) disposePolicy(selector);
  }
}
