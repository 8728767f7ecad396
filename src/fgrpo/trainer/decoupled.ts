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
 * Start: with `model.checkpoint` (a task-vocabulary model, e.g. the unified SFT model every RL
 * method of a study starts from) both stages start as copies of it and `sft.max_steps` is a
 * fine-tune of each on its sub-task (0: the checkpoint as it is, for both — which chains to
 * exactly the unified model's own greedy output, see decoupled-chain.ts); without it both start
 * as new models (random, item embeddings as configured) and need sft.max_steps > 0.
 *
 * Order and validation (each stage validates the chained pipeline on the run's validation set):
 * selector SFT (best checkpoint on slate_recall, the selector's own job), ranker SFT (on the chain's
 * ndcg@5 with the trained selector), then for decoupled-rl selector RL and ranker RL.
 *
 * Equal rollout budget: decoupled-rl spends the unified methods' rl.max_steps × prompts_per_step ×
 * num_generations rollouts in all — the selector stage the first ⌊max_steps/2⌋ steps, the ranker
 * stage the rest, each with its own warm-up and schedule over its steps. Both stages log
 * `rollouts_seen` counted over the whole pipeline (the ranker's continue from the selector's).
 *
 *   <output_dir>/selector, ranker              SFT stage logs and checkpoints
 *   <output_dir>/selector-rl, ranker-rl        RL stage logs (metrics.jsonl) and checkpoints
 *   <output_dir>/selector-final, ranker-final  the trained models
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { readJsonFile } from "../../util/json-file.js";
import { InputError } from "../../util/errors.js";
import * as T from "../../torch/index.js";
import type { Rng } from "../../util/random.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { PrefixedConstraint } from "../prefixed-constraint.js";
import { maxCompletionTokens } from "../layout.js";
import { batchPhaseMasks } from "../phase-masks.js";
import { groupRelativeAdvantages } from "../advantages.js";
import { computeRewards } from "../rewards.js";
import { grpoLoss, meanTokenEntropy } from "../objectives.js";
import { scoreCompletions } from "../../generation/score.js";
import { taskVocabOf, type EncodedExample, type TaskSetup } from "./data.js";
import { configurePolicy, createPolicy, disposePolicy, savePolicy, loadPolicyModel, loadPolicyWeights, type PolicyModel } from "./policy.js";
import { TrainingLoop } from "./loop.js";
import type { TaskVocabCodec } from "./policy-codec.js";
import { historyLossOf, sftStep, type SftPair } from "./sft.js";
import { initItemEmbeddings } from "./item-embeddings.js";
import { scoreOutputs, type EvalResult } from "./evaluate.js";
import { clipBounds, isTextPolicyFolder, sameConfig, sftDropoutOf, type TrainConfig } from "./config.js";
import { applyThreads } from "./threads.js";
import { rewardConfigOf, rolloutsSeen } from "./rl-step.js";
import { runPhase, type RunHooks } from "./run.js";
import { chainedCompletions, rankerPair, rankSlates, selectorPair, selectSlates } from "./decoupled-chain.js";
import type { EvalSummary } from "../../eval/metrics.js";

export { chainedCompletions } from "./decoupled-chain.js";

export const DECOUPLED_METHODS = ["decoupled-sft", "decoupled-rl", "classic-ranker"] as const;

/** The two models of a pipeline (no selector for classic-ranker) and how to validate their chain. */
interface Pipeline {
  selector: PolicyModel | null;
  ranker: PolicyModel;
  validate: (phase: string) => EvalResult;
}

/**
 * The RL steps of each decoupled-rl stage: the selector the first ⌊max_steps/2⌋, the ranker the
 * rest, so the pipeline samples as many rollouts as one unified run of rl.max_steps.
 */
export function decoupledRlSteps(maxSteps: number): { selector: number; ranker: number } {
  const selector = Math.floor(maxSteps / 2);
  return { selector, ranker: maxSteps - selector };
}

/**
 * Checks that a warm start can be used for both stages: a task-vocabulary checkpoint whose
 * vocabulary is the one the task was encoded with and holds every symbol of the task's own
 * (a checkpoint of another dataset or pool size would read unknown items as <unk>).
 */
export function checkDecoupledStart(config: TrainConfig, task: TaskSetup): void {
  const dir = config.model.checkpoint;
  if (dir === null) {
    if (config.sft.max_steps === 0) throw new InputError("the decoupled pipelines' selector and ranker would be untrained: set sft.max_steps > 0, or model.checkpoint to a task-vocabulary model to start both from", { field: "sft.max_steps" });
    return;
  }
  if (isTextPolicyFolder(dir)) throw new InputError("the decoupled pipelines splice token-level slates and need a task-vocabulary model (vocab.json), not a text model", { field: "model.checkpoint" });
  const file = join(dir, "vocab.json");
  if (!existsSync(file)) throw new InputError("not a task-vocabulary checkpoint (no vocab.json)", { file: dir });
  const theirs = TaskVocab.fromJSON(readJsonFile(file), file).symbols;
  const ours = task.taskVocab().vocab.symbols;
  if (theirs.length !== ours.length || theirs.some((s, i) => s !== ours[i])) {
    throw new InputError(`vocabulary (${theirs.length} symbols) is not the one this task was encoded with (${ours.length}); set the task up with the checkpoint's vocabulary`, { file });
  }
  const has = new Set(theirs);
  const missing = taskVocabOf(config, task.train.map((e) => e.example)).symbols.filter((s) => !has.has(s));
  if (missing.length > 0) {
    throw new InputError(`vocabulary lacks ${missing.length} symbol(s) of this task (e.g. "${missing[0]}"): the checkpoint was trained on another task, data set or layout; warm-start from a model trained on this task`, { file });
  }
}

/** decoupled-rl's stage step (trainRlStage) is on-policy GRPO without a KL term: refuse what it would ignore. */
function checkDecoupledRl(rl: TrainConfig["rl"]): void {
  for (const [field, value, plain] of [["num_minibatches", rl.num_minibatches, 1], ["num_iterations", rl.num_iterations, 1], ["beta", rl.beta, 0]] as const) {
    if (value !== plain) throw new InputError(`decoupled-rl's stages take one on-policy update per batch without a KL term; ${value} is not supported there (set ${plain})`, { field: `rl.${field}` });
  }
}

/** A stage's model: a copy of model.checkpoint, or a new model. */
function initialStage(config: TrainConfig, task: TaskSetup): PolicyModel {
  if (config.model.checkpoint !== null) {
    const p = loadPolicyModel(config.model.checkpoint, task.policyCodec);
    configurePolicy(p, config.model);
    return p;
  }
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
  initItemEmbeddings(policy, config, task);
  return policy;
}

function stageLoop(phase: string, section: "sft" | "rl", config: TrainConfig, policy: PolicyModel, settings: TrainConfig["sft"] | TrainConfig["rl"], bestMetric: string, hooks: RunHooks): TrainingLoop {
  return new TrainingLoop({
    phase, section, outputDir: config.output_dir, params: policy.model.trainableParameters(), settings, seed: config.seed * 2 + (section === "sft" ? 1 : 2), config,
    saveModel: (dir) => savePolicy(policy, dir), loadModel: (dir) => loadPolicyWeights(policy, dir), bestMetric,
    maxConsecutiveFailures: config.rl.max_consecutive_failures, log: hooks.log,
    emaDecay: section === "sft" ? config.sft.ema_decay : null,
  });
}

/**
 * SFT of one stage on its sub-task for sft.max_steps, validating the chain; with
 * load_best_model_at_end the stage ends on its best validation checkpoint (by `bestMetric`).
 */
function trainSftStage(name: "selector" | "ranker", config: TrainConfig, task: TaskSetup, pipe: Pipeline, pairOf: (e: EncodedExample, rng: Rng) => SftPair, bestMetric: string, hooks: RunHooks): void {
  const policy = name === "selector" ? pipe.selector! : pipe.ranker;
  const loop = stageLoop(name, "sft", config, policy, config.sft, bestMetric, hooks);
  const log = hooks.log ?? ((l: string) => console.error(l));
  try {
    loop.resume();
    if (loop.done && loop.step === 0) return; // sft.max_steps 0: the start as it is
    const history = historyLossOf(config, task.policyCodec);
    if (!loop.done) {
      runPhase(name, loop, () => {
        // Decoupled stages are task-vocabulary models (runDecoupled checks task.taskVocab()).
        const r = sftStep(policy, task, loop, config.sft.batch_size, config.rl.constrained_decoding, pairOf, sftDropoutOf(config, true), history);
        return `loss ${r.loss.toFixed(3)}`;
      }, pipe.validate, { ...hooks, stopAfter: undefined }, log, config.sft.early_stopping_patience);
    }
    if (config.sft.load_best_model_at_end && loop.best !== null && loop.best.step !== loop.step) {
      log(`${name}: loading the best validation checkpoint (step ${loop.best.step}, ${bestMetric} ${loop.best.value.toFixed(4)})`);
      loadPolicyWeights(policy, loop.bestModelDir());
    } else loop.useEvaluatedWeights(); // the weights validation scored: the average, with sft.ema_decay
  } finally {
    loop.dispose();
  }
}

/**
 * RL for one stage with its own reward and a GRPO objective (one stage, one reward: the joint and
 * factorized objectives coincide). "selector" samples slates and is rewarded with R_gen;
 * "ranker" samples rankings of the selector's greedy slates and is rewarded with R_rank. The
 * stage runs `steps` steps; `offset` rollouts were seen by the pipeline before it.
 */
function trainRlStage(stage: "selector" | "ranker", config: TrainConfig, task: TaskSetup, pipe: Pipeline, steps: number, offset: number, hooks: RunHooks): void {
  const rl = { ...config.rl, max_steps: steps };
  const policy = stage === "selector" ? pipe.selector! : pipe.ranker;
  const selector = pipe.selector!;
  const reward = rewardConfigOf(rl);
  const phase = `${stage}-rl`;
  const loop = stageLoop(phase, "rl", config, policy, rl, "ndcg@5", hooks);
  const log = hooks.log ?? ((l: string) => console.error(l));
  const g = rl.num_generations;
  const seen = (step: number) => ({ rollouts_seen: offset + rolloutsSeen(rl, step) });
  const step = () => {
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
    loop.logger.log({ step: loop.step, phase, ...seen(loop.step), loss: r.loss, reward_mean: adv.stats.rewardMean, reward_std: adv.stats.rewardStd, zero_var_frac: adv.stats.zeroVarianceFraction, entropy: r.entropy, grad_norm: norm, learning_rate: lr });
    return `${stage === "selector" ? "R_gen" : "R_rank"} ${adv.stats.rewardMean.toFixed(3)}`;
  };
  try {
    loop.resume();
    if (!loop.done) runPhase(phase, loop, step, pipe.validate, { ...hooks, stopAfter: undefined }, log, 0, seen);
  } finally {
    loop.dispose();
  }
}

/** Trains the method's models and evaluates the chain on `examples`. */
export function runDecoupled(method: string, config: TrainConfig, task: TaskSetup, examples: readonly EncodedExample[], hooks: RunHooks = {}): { perQuery: EvalSummary["perQuery"]; means: Record<string, number> } {
  task.taskVocab(); // text models cannot run these methods: fail before any training
  checkDecoupledStart(config, task);
  if (method === "decoupled-rl") checkDecoupledRl(config.rl);
  applyThreads(config);
  T.manualSeed(config.seed);
  const configFile = join(config.output_dir, "config.json");
  // As `train` does: a folder's stages resume only under the config that wrote them.
  if (existsSync(configFile) && !sameConfig(readJsonFile(configFile), config)) {
    throw new InputError("output_dir already holds a pipeline with a different config; use a new output_dir or the same config to resume", { file: configFile });
  }
  writeFileAtomic(configFile, JSON.stringify(config, null, 1));
  const evalSet = task.evalExamples(config.task.eval_split, config.task.eval_examples);
  const ranker = initialStage(config, task);
  const pipe: Pipeline = { ranker, selector: null, validate: () => scoreOutputs(task, evalSet, chainedCompletions(task, evalSet, pipe.ranker, pipe.selector, config.seed), config.seed) };
  try {
    if (method !== "classic-ranker") {
      pipe.selector = initialStage(config, task);
      trainSftStage("selector", config, task, pipe, (e, rng) => selectorPair(task, e, rng), "slate_recall", hooks);
    }
    trainSftStage("ranker", config, task, pipe, (e, rng) => rankerPair(task, e, rng), "ndcg@5", hooks);
    if (method === "decoupled-rl") {
      const steps = decoupledRlSteps(config.rl.max_steps);
      trainRlStage("selector", config, task, pipe, steps.selector, 0, hooks);
      trainRlStage("ranker", config, task, pipe, steps.ranker, rolloutsSeen(config.rl, steps.selector), hooks);
    }
    savePolicy(ranker, join(config.output_dir, "ranker-final"));
    if (pipe.selector) savePolicy(pipe.selector, join(config.output_dir, "selector-final"));
    const r = scoreOutputs(task, examples, chainedCompletions(task, examples, ranker, pipe.selector, config.seed), config.seed);
    writeFileAtomic(join(config.output_dir, "results.json"), JSON.stringify({ sft: null, rl: null, sft_validity: null, rl_validity: null, pipeline: method, means: r.means, validity: r.statusCounts, eval_examples: examples.length }, null, 1));
    return { perQuery: r.summary.perQuery, means: r.means };
  } finally {
    disposePolicy(ranker);
    if (pipe.selector) disposePolicy(pipe.selector);
  }
}
