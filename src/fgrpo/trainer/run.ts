/**
 * A training run: SFT warm start, then RL with the configured method, with validation, best
 * checkpoint tracking, checkpoints and exact resume. `runTraining` is what `fgrpo train` calls.
 *
 *   <output_dir>/config.json     the resolved config
 *   <output_dir>/vocab.json      the task vocabulary (fixed for the run's lifetime; none in text
 *                                mode, where the checkpoint's tokenizer is the vocabulary)
 *   <output_dir>/sft/…           SFT metrics.jsonl and checkpoints (see checkpoint.ts)
 *   <output_dir>/rl/…            RL metrics.jsonl and checkpoints
 *   <output_dir>/results.json    final validation metrics of each phase
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { readJsonFile } from "../../util/json-file.js";
import { checkOutputFolder } from "../../util/output-path.js";
import { removeStaleTemps, writeFileAtomic } from "../../util/atomic-write.js";
import { InputError } from "../../util/errors.js";
import { Progress } from "../../util/progress.js";
import { describeBatchHierarchy, sameConfig, sftDropoutOf, type TrainConfig } from "./config.js";
import { setupTask, type TaskSetup } from "./data.js";
import { applyThreads } from "./threads.js";
import { configurePolicy, createPolicy, disposePolicy, loadPolicyCodec, loadPolicyModel, loadPolicyWeights, savePolicy, type PolicyModel } from "./policy.js";
import { TaskVocabCodec, type PolicyCodec } from "./policy-codec.js";
import { TrainingLoop, type OptimSettings } from "./loop.js";
import { historyLossOf, sftStep } from "./sft.js";
import { initItemEmbeddings } from "./item-embeddings.js";
import { rewardConfigOf, rlStep, rolloutsSeen, type RlContext } from "./rl-step.js";
import { evaluatePolicy, greedyCompletions, scoreOutputs, type EvalOptions, type EvalResult } from "./evaluate.js";
import type { EncodedExample } from "./data.js";
import type { DataParallel } from "./dist.js";
import type { RolloutBatch } from "./rollouts.js";

export interface RunHooks {
  log?: (line: string) => void;
  quiet?: boolean;
  /** Sees each RL batch and its logged record. */
  onBatch?: (batch: RolloutBatch, record: Record<string, unknown>) => void;
  /** Stops the run (as a kill would) after this many steps of a phase, for resume tests. */
  stopAfter?: { phase: "sft" | "rl"; step: number };
  /** Data-parallel training over a process group (docs/distributed.md); every rank calls runTraining. */
  dataParallel?: DataParallel;
}

export interface RunResult {
  outputDir: string;
  sft: EvalResult | null;
  rl: EvalResult | null;
  /** The folder of the final model (HF layout + vocab.json or the tokenizer files). */
  finalModel: string;
  interrupted: boolean;
}

export const BEST_METRIC = "ndcg@5";

export class Interrupted extends Error {}

export function runTraining(config: TrainConfig, hooks: RunHooks = {}): RunResult {
  const dp = hooks.dataParallel;
  const writes = dp?.isMain ?? true;
  // Rank 0 alone prints, shows progress and writes files.
  const log = writes ? (hooks.log ?? ((l: string) => console.error(l))) : () => undefined;
  hooks = { ...hooks, log, quiet: hooks.quiet || !writes };
  const out = config.output_dir;
  checkOutputFolder(out, { field: "output_dir" });
  mkdirSync(out, { recursive: true });
  if (dp) {
    dp.checkDivisible(config.sft.batch_size, 1, "sft.batch_size");
    dp.checkDivisible(config.rl.prompts_per_step, config.rl.num_minibatches, "rl.prompts_per_step");
  }
  // A run killed by a signal (kill -9, OOM) leaves its temporary files; clear them now.
  if (writes) for (const p of removeStaleTemps(out)) log(`removed ${p} (left by a process that is gone)`);
  applyThreads(config);
  T.manualSeed(config.seed);
  const task = prepareTask(config, out, writes);
  log(task.data.summary.join("\n"));
  const evalSet = task.evalExamples(config.task.eval_split, config.task.eval_examples);
  const policy = initialPolicy(config, task);
  dp?.broadcastParameters(policy.model.params);
  log(`model: ${countParameters(policy)} parameters, ${task.policyCodec.describe()}`);
  const validate = (phase: string) => {
    const progress = new Progress(`${phase} validation`, evalSet.length, { quiet: hooks.quiet });
    const opts = { constrained: config.rl.constrained_decoding, seed: config.seed, onProgress: (d: number) => progress.update(d) };
    return dp ? evaluateSharded(dp, policy, task, evalSet, opts) : evaluatePolicy(policy, task, evalSet, opts);
  };
  try {
    const sft = config.sft.max_steps > 0 ? runSft(config, task, policy, validate, hooks, log) : null;
    const rl = config.rl.max_steps > 0 ? runRl(config, task, policy, validate, hooks, log) : null;
    const finalModel = join(out, "final");
    const results = { sft: sft?.means ?? null, rl: rl?.means ?? null, sft_validity: sft?.statusCounts ?? null, rl_validity: rl?.statusCounts ?? null, eval_split: config.task.eval_split, eval_examples: evalSet.length };
    if (writes) {
      savePolicy(policy, finalModel);
      writeFileAtomic(join(out, "results.json"), JSON.stringify(results, null, 1));
    }
    return { outputDir: out, sft, rl, finalModel, interrupted: false };
  } catch (e) {
    if (e instanceof Interrupted) return { outputDir: out, sft: null, rl: null, finalModel: "", interrupted: true };
    throw e;
  } finally {
    disposePolicy(policy);
  }
}

/**
 * Loads the task. A task vocabulary is saved with the run the first time and reused on resume;
 * a checkpoint brings its own codec (its vocab.json, or its tokenizer: text mode). Only the
 * writing rank (rank 0 under data parallelism) writes.
 */
function prepareTask(config: TrainConfig, out: string, writes: boolean): TaskSetup {
  const vocabFile = join(out, "vocab.json");
  const configFile = join(out, "config.json");
  if (existsSync(configFile)) {
    if (!sameConfig(readJsonFile(configFile), config)) {
      throw new InputError(`output_dir already holds a run with a different config; use a new output_dir or the same config to resume`, { file: configFile });
    }
  }
  let codec: PolicyCodec | undefined;
  if (config.model.checkpoint) codec = loadPolicyCodec(config, config.model.checkpoint);
  else if (existsSync(vocabFile)) codec = new TaskVocabCodec(config, TaskVocab.fromJSON(readJsonFile(vocabFile), vocabFile));
  const task = setupTask(config, codec);
  if (writes) {
    if (task.policyCodec instanceof TaskVocabCodec) writeFileAtomic(vocabFile, JSON.stringify(task.policyCodec.vocab.toJSON()));
    writeFileAtomic(configFile, JSON.stringify(config, null, 1));
  }
  return task;
}

/**
 * Tokens in the longest prompt. A loop, not Math.max(...lengths): spreading Amazon Beauty's 131k
 * training prompts as arguments overflows the call stack.
 */
export function longestPrompt(examples: readonly { promptIds: readonly number[] }[]): number {
  return examples.reduce((m, e) => Math.max(m, e.promptIds.length), 0);
}

/**
 * The policy a run starts from: the configured checkpoint, or a fresh model sized for the longest
 * training prompt (which encodes every training prompt once, up front). Exported for the soak
 * bench, so it measures the memory of a real run's setup.
 */
export function initialPolicy(config: TrainConfig, task: TaskSetup): PolicyModel {
  if (config.model.checkpoint) {
    const p = loadPolicyModel(config.model.checkpoint, task.policyCodec);
    configurePolicy(p, config.model);
    return p;
  }
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, Math.max(256, 2 * (longestPrompt(task.train) + 64)));
  initItemEmbeddings(policy, config, task);
  return policy;
}

function countParameters(p: PolicyModel): number {
  let n = 0;
  for (const t of p.model.params.values()) n += t.numel;
  return n;
}

function loopFor(phase: "sft" | "rl", config: TrainConfig, policy: PolicyModel, settings: OptimSettings, log: (l: string) => void, dataParallel?: DataParallel): TrainingLoop {
  return new TrainingLoop({
    phase,
    outputDir: config.output_dir,
    params: policy.model.trainableParameters(),
    settings,
    // Distinct data streams per phase, both derived from the one seed.
    seed: phase === "sft" ? config.seed * 2 + 1 : config.seed * 2 + 2,
    config,
    saveModel: (dir) => savePolicy(policy, dir),
    loadModel: (dir) => loadPolicyWeights(policy, dir),
    bestMetric: BEST_METRIC,
    maxConsecutiveFailures: config.rl.max_consecutive_failures,
    log,
    dataParallel,
    emaDecay: phase === "sft" ? config.sft.ema_decay : null,
  });
}

/**
 * Steps a phase to its end with validation every eval_every steps (and at the end), best-checkpoint
 * tracking and early stopping; returns the last validation. `phase` names the progress bar and the
 * logged lines (the decoupled pipelines' stages run through it too).
 */
export function runPhase(
  phase: string,
  loop: TrainingLoop,
  step: () => string,
  validate: (phase: string) => EvalResult,
  hooks: RunHooks,
  log: (l: string) => void,
  patience = 0,
  /** Extra fields of each validation line (RL: rollouts_seen, the x of sample-efficiency curves). */
  progressFields: (step: number) => Record<string, number> = () => ({}),
): EvalResult {
  const progress = new Progress(phase.toUpperCase(), loop.opts.settings.max_steps, { quiet: hooks.quiet });
  let last: EvalResult | null = null;
  while (!loop.done) {
    const summary = step();
    progress.update(loop.step, summary);
    if (loop.shouldValidate()) {
      // With weight averaging, the average is scored and (when best) checkpointed as `best`.
      const { result, improved } = loop.evaluated(() => {
        const result = validate(phase);
        return { result, improved: loop.recordValidation(result.means) };
      });
      last = result;
      loop.logger.log({ step: loop.step, phase, ...progressFields(loop.step), validation: last.means, validity: last.statusCounts, best: improved });
      log(`${phase} step ${loop.step}: validation ${BEST_METRIC} ${last.means[BEST_METRIC]!.toFixed(4)}, slate_recall ${last.means.slate_recall!.toFixed(4)}${improved ? " (best)" : ""}`);
      if (!loop.done && loop.checkEarlyStopping(patience)) {
        log(`${phase}: early stopping at step ${loop.step}: no better validation ${loop.opts.bestMetric} for ${patience} validations (best ${loop.best!.value.toFixed(4)} at step ${loop.best!.step})`);
        loop.logger.log({ step: loop.step, phase, early_stopped: true, best_step: loop.best!.step });
      }
    }
    if (loop.shouldSave()) loop.save();
    if (hooks.stopAfter?.phase === phase && loop.step >= hooks.stopAfter.step && !loop.done) throw new Interrupted();
  }
  return last ?? loop.evaluated(() => validate(phase));
}

function runSft(config: TrainConfig, task: TaskSetup, policy: PolicyModel, validate: (p: string) => EvalResult, hooks: RunHooks, log: (l: string) => void): EvalResult {
  const loop = loopFor("sft", config, policy, config.sft, log, hooks.dataParallel);
  try {
    loop.resume();
    if (loop.done && config.rl.max_steps > 0 && existsSync(join(config.output_dir, "rl", "checkpoints", "LATEST"))) {
      log("SFT already complete; continuing RL");
      return JSON.parse(readFileSync(join(config.output_dir, "sft", "final-validation.json"), "utf8")) as EvalResult;
    }
    const ranks = hooks.dataParallel ? ` (${hooks.dataParallel.worldSize} ranks × ${config.sft.batch_size / hooks.dataParallel.worldSize} per rank)` : "";
    log(`SFT: ${config.sft.max_steps} steps × ${config.sft.batch_size} prompts${ranks}`);
    const history = historyLossOf(config, task.policyCodec);
    let result = runPhase("sft", loop, () => {
      const r = sftStep(policy, task, loop, config.sft.batch_size, config.rl.constrained_decoding, undefined, sftDropoutOf(config, task.policyCodec instanceof TaskVocabCodec), history);
      return `loss ${r.loss.toFixed(3)}` + (r.historyLoss === null ? "" : ` (history ${r.historyLoss.toFixed(3)})`);
    }, validate, hooks, log, config.sft.early_stopping_patience);
    if (config.sft.load_best_model_at_end && loop.best !== null && loop.best.step !== loop.step) {
      log(`SFT: loading the best validation checkpoint (step ${loop.best.step}, ${BEST_METRIC} ${loop.best.value.toFixed(4)})`);
      loadPolicyWeights(policy, loop.bestModelDir());
      result = validate("sft");
    } else loop.useEvaluatedWeights(); // the weights `result` scored: the average, with sft.ema_decay
    if (loop.writes) writeFileAtomic(join(config.output_dir, "sft", "final-validation.json"), JSON.stringify({ means: result.means, statusCounts: result.statusCounts }));
    return result;
  } finally {
    loop.dispose();
  }
}

function runRl(config: TrainConfig, task: TaskSetup, policy: PolicyModel, validate: (p: string) => EvalResult, hooks: RunHooks, log: (l: string) => void): EvalResult {
  const loop = loopFor("rl", config, policy, config.rl, log, hooks.dataParallel);
  // The reference is the policy RL starts from, frozen; kept only when the KL term is on. With
  // LoRA it is the base model: the policy itself, scored with its adapters off (no copy).
  const reference = config.rl.beta > 0 ? (policy.model.lora ? policy : snapshotPolicy(policy)) : null;
  try {
    loop.resume();
    log(`RL (${config.rl.method}):\n${describeBatchHierarchy(config.rl, hooks.dataParallel?.worldSize)}`);
    const ctx: RlContext = { policy, reference, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop, onBatch: hooks.onBatch };
    return runPhase("rl", loop, () => {
      const r = rlStep(ctx);
      return `R_gen ${(r.reward_gen_mean as number).toFixed(3)} R_rank ${(r.reward_rank_mean as number).toFixed(3)}`;
    }, validate, hooks, log, 0, (step) => ({ rollouts_seen: rolloutsSeen(config.rl, step) }));
  } finally {
    loop.dispose();
    if (reference && reference !== policy) disposePolicy(reference);
  }
}

/** Validation split across ranks: each decodes its part, then every rank scores all outputs. */
function evaluateSharded(dp: DataParallel, policy: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], opts: EvalOptions): EvalResult {
  const [from, to] = dp.range(examples.length);
  const local = to > from ? greedyCompletions(policy, task, examples.slice(from, to), opts) : [];
  const all = dp.gatherSequences(local, examples.length);
  return scoreOutputs(task, examples, all, opts.seed ?? 0);
}

function snapshotPolicy(p: PolicyModel): PolicyModel {
  const params = new Map([...p.model.params].map(([k, v]) => [k, T.keep(T.noGrad(() => v.detach().clone()))]));
  const Model = p.model.constructor as new (c: typeof p.model.config, params: Map<string, T.Tensor>) => typeof p.model;
  return { model: new Model(p.model.config, params), codec: p.codec };
}
