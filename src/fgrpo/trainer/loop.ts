/**
 * What SFT and RL share: the optimizer and its schedule, the guarded update (a NaN/Inf loss or
 * gradient skips the step with a warning; too many in a row stop the run with the last good
 * checkpoint intact), validation with best-checkpoint tracking, and checkpoint/resume of the
 * model, optimizer, RNG states and data position.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { Rng } from "../../util/random.js";
import { InputError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { learningRateAt, type ScheduleType } from "./schedule.js";
import { JsonlLogger } from "./logger.js";
import type { DataParallel } from "./dist.js";
import { ParameterEma } from "./ema.js";
import { sameConfig } from "./config.js";
import { decodeRng, encodeRng, latestCheckpoint, loadCheckpoint, saveCheckpoint, stepDirName, type TrainerState } from "./checkpoint.js";

export interface OptimSettings {
  learning_rate: number;
  warmup_steps: number;
  lr_scheduler_type: ScheduleType;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  max_grad_norm: number;
  eval_every: number;
  save_every: number;
  max_steps: number;
}

export interface LoopOptions {
  /** "sft" or "rl": names the log file and the checkpoint folder. */
  phase: string;
  /** The config section `settings` come from, for the messages that name a field (default: `phase`). */
  section?: "sft" | "rl";
  outputDir: string;
  params: Map<string, T.Tensor>;
  settings: OptimSettings;
  seed: number;
  /** The run's config, stored in checkpoints; a resumed run must match it. */
  config: unknown;
  saveModel: (dir: string) => void;
  /** Loads the weights of a checkpoint's model folder into `params`. */
  loadModel: (dir: string) => void;
  /** Name of the validation metric to maximise for best-checkpoint tracking. */
  bestMetric: string;
  maxConsecutiveFailures: number;
  log?: (line: string) => void;
  /** Data-parallel ranks: gradients and logs are reduced across them; rank 0 alone writes. */
  dataParallel?: DataParallel;
  /** Weight averaging (ema.ts): the decay of the average that validation scores; null/absent = off. */
  emaDecay?: number | null;
}

/** A run that cannot go on (non-finite losses or parameters): the CLI prints it as one line. */
export class StepFailure extends InputError {}

/** A learning rate as a user writes it (1e+30, not 1000000000000000000000000000000). */
const formatLr = (lr: number): string => (Math.abs(lr) >= 1e6 ? lr.toExponential() : String(lr));

/** The largest float32 whose square is finite. */
const SQRT_FLT_MAX = Math.sqrt(3.4028234663852886e38);

export class TrainingLoop {
  readonly optimizer: T.AdamW;
  readonly dataRng: Rng;
  readonly logger: JsonlLogger;
  readonly dir: string;
  step = 0;
  /** The loss of the last update: the whole batch's under data parallelism (what to log). */
  lastLoss = NaN;
  best: TrainerState["best"] = null;
  /** Set by early stopping; saved with checkpoints so a resumed run stays stopped. */
  earlyStopped = false;
  /** The parameters' moving average (`emaDecay`), or null when weight averaging is off. */
  readonly ema: ParameterEma | null;
  private failures = 0;
  /** The first of the current run of skipped steps: what the message that stops the run reports. */
  private firstFailure: { step: number; what: string } | null = null;

  constructor(readonly opts: LoopOptions) {
    const s = opts.settings;
    this.optimizer = new T.AdamW(opts.params, { lr: s.learning_rate, betas: [s.adam_beta1, s.adam_beta2], weightDecay: s.weight_decay });
    this.dataRng = new Rng(opts.seed);
    this.dir = join(opts.outputDir, opts.phase);
    const metrics = join(this.dir, "metrics.jsonl");
    this.logger = opts.dataParallel ? opts.dataParallel.logger(metrics) : new JsonlLogger(metrics);
    this.ema = opts.emaDecay != null ? new ParameterEma(opts.emaDecay, opts.params) : null;
  }

  /**
   * Runs `f` (validation and the best checkpoint it may write) on the weights the run evaluates:
   * the moving average when weight averaging is on, the trained weights otherwise.
   */
  evaluated<R>(f: () => R): R {
    return this.ema ? this.ema.withAveraged(f) : f();
  }

  /** At the end of a phase: the parameters become the weights validation scored (the average, when on). */
  useEvaluatedWeights(): void {
    this.ema?.apply();
  }

  get done(): boolean {
    return this.earlyStopped || this.step >= this.opts.settings.max_steps;
  }

  /**
   * Early stopping (HF's EarlyStoppingCallback): stops the loop once `patience` validations in a
   * row have not improved on the best, i.e. the best is `patience` validation intervals old.
   * Derived from the best step alone, so it needs no extra state to resume. Returns whether it stopped.
   */
  checkEarlyStopping(patience: number): boolean {
    const every = this.opts.settings.eval_every;
    if (patience > 0 && every > 0 && this.best !== null && this.step - this.best.step >= patience * every) this.earlyStopped = true;
    return this.earlyStopped;
  }

  /** The learning rate of the current step (also set on the optimizer). */
  currentLr(): number {
    const s = this.opts.settings;
    const lr = learningRateAt(this.step, s.max_steps, s.learning_rate, s.warmup_steps, s.lr_scheduler_type);
    this.optimizer.lr = lr;
    return lr;
  }

  /**
   * Call right before `loss.backward()` with the `weight` that `update` will get: under data
   * parallelism the backward then starts the gradient all-reduces as buckets complete.
   */
  beforeBackward(weight = 1): void {
    this.opts.dataParallel?.beforeBackward([...this.opts.params.values()], weight);
  }

  /**
   * Clips and applies the accumulated gradients. Returns the gradient norm, or null when the step
   * was skipped because the loss or the gradient is not finite.
   */
  update(lossValue: number, weight = 1): number | null {
    const params = [...this.opts.params.values()];
    // Data parallel: every rank then holds the whole batch's gradient and loss (`weight` is the
    // number of terms this rank's loss averages), so every rank takes the same decision below.
    if (this.opts.dataParallel) lossValue = this.opts.dataParallel.reduceGradients(params, lossValue, weight);
    this.lastLoss = lossValue;
    const norm = this.opts.settings.max_grad_norm > 0 ? T.clipGradNorm(params, this.opts.settings.max_grad_norm) : T.gradNorm(params);
    if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
      this.optimizer.zeroGrad();
      this.failures += 1;
      const what = Number.isFinite(lossValue) ? `gradient norm (${norm})` : `loss (${lossValue})`;
      if (this.failures === 1) this.firstFailure = { step: this.step + 1, what };
      const msg = `${this.opts.phase} step ${this.step + 1}: non-finite ${what}; step skipped (${this.failures}/${this.opts.maxConsecutiveFailures})`;
      this.opts.log?.(`warning: ${msg}`);
      this.logger.log({ step: this.step + 1, warning: msg });
      if (this.failures >= this.opts.maxConsecutiveFailures) {
        // Skipping leaves the parameters as they are, so NaN in a row on different batches points
        // at the parameters, i.e. at the updates before: the learning rate is what to change.
        const first = this.firstFailure!;
        const since = this.step > 0 ? ` (the parameters are those of step ${this.step}'s update, learning rate ${formatLr(this.optimizer.lr)})` : "";
        throw new StepFailure(
          `${this.opts.phase} step ${this.step + 1}: ${this.failures} consecutive non-finite steps, the first at step ${first.step}: non-finite ${first.what}${since}; stopping. Lower ${this.lrField}; ${this.checkpointNote()}`,
          { field: this.lrField },
        );
      }
      return null;
    }
    this.failures = 0;
    this.optimizer.update();
    this.optimizer.zeroGrad();
    this.checkParameters(params);
    // After the check, so a diverged update never reaches the average either.
    this.ema?.update();
    return norm;
  }

  /**
   * Stops the run at the step whose update broke the parameters: a value that is NaN, infinite,
   * or so large that its square overflows float32 (|θ| > 1.8e19, FLT_MAX^½), which makes the
   * first norm or dot product it enters infinite and so every later loss NaN (lr 1e30 does this
   * in one AdamW step: every value moves by ≈ lr). The update is checked before anything can
   * save it, so no checkpoint holds such weights. Cost: one reduction over the parameters and
   * one sync per step, one tensor's worth of scratch; the offending tensor is looked up only on failure.
   */
  private checkParameters(params: T.Tensor[]): void {
    if (params.length === 0) return;
    // Each |p| is freed before the next is made (an inner tidy per tensor): one tidy around all
    // of them would hold a float copy of the whole model at once.
    const largestOf = (ps: T.Tensor[]) => T.noGrad(() => T.tidy(() => T.stack(ps.map((p) => T.tidy(() => p.detach().abs().max().to("float32")))).max().item()));
    if (largestOf(params) <= SQRT_FLT_MAX) return; // false for NaN too
    let name = "?", value = NaN;
    for (const [n, p] of this.opts.params) {
      const v = largestOf([p]);
      if (!(v <= SQRT_FLT_MAX)) {
        name = n;
        value = v;
        break;
      }
    }
    const what = Number.isNaN(value) ? "NaN" : value === Infinity ? "infinite" : `as large as ${value.toExponential(2)} (its square overflows float32, so every later loss is NaN)`;
    throw new StepFailure(
      `${this.opts.phase} step ${this.step + 1}: the update (learning rate ${formatLr(this.optimizer.lr)}) made parameter ${name} ${what}; stopping before any checkpoint holds it. Lower ${this.lrField}; ${this.checkpointNote()}`,
      { field: this.lrField },
    );
  }

  /** The config field of the learning rate, which the messages that stop a diverging run name. */
  private get lrField(): string {
    return `${this.opts.section ?? this.opts.phase}.learning_rate`;
  }

  /** Where the run can be continued from, for the messages that stop it. */
  private checkpointNote(): string {
    let latest: string | null = null;
    try {
      latest = latestCheckpoint(this.dir);
    } catch {
      latest = null;
    }
    return latest !== null ? `the last good checkpoint, ${latest}, is untouched` : `no ${this.opts.phase} checkpoint had been written yet`;
  }

  /** Whether validation is due after the step just completed. */
  shouldValidate(): boolean {
    const every = this.opts.settings.eval_every;
    return this.done || (every > 0 && this.step % every === 0);
  }

  shouldSave(): boolean {
    const every = this.opts.settings.save_every;
    return this.done || (every > 0 && this.step % every === 0);
  }

  /** Records a validation result; saves a `best` checkpoint when it improves. */
  recordValidation(metrics: Record<string, number>): boolean {
    const value = metrics[this.opts.bestMetric];
    if (value === undefined) throw new Error(`validation did not report the best metric "${this.opts.bestMetric}"`);
    const improved = this.best === null || value > this.best.value;
    if (improved) {
      this.best = { metric: this.opts.bestMetric, value, step: this.step };
      if (this.writes) saveCheckpoint(this.dir, this.contents(), { name: "best" });
    }
    return improved;
  }

  /** Writes a checkpoint of the current step. */
  save(extra: Record<string, unknown> = {}): string {
    if (!this.writes) return join(this.dir, "checkpoints", stepDirName(this.step));
    return saveCheckpoint(this.dir, this.contents(extra), { protect: ["best"] });
  }

  /** Whether this process writes files: the only process, or data-parallel rank 0. */
  get writes(): boolean {
    return this.opts.dataParallel?.isMain ?? true;
  }

  private contents(extra: Record<string, unknown> = {}) {
    const state: TrainerState = {
      phase: this.opts.phase,
      step: this.step,
      torchRng: encodeRng(T.getRngState()),
      dataRng: this.dataRng.getState(),
      best: this.best,
      config: this.opts.config,
      extra: this.earlyStopped ? { ...extra, early_stopped: true } : extra,
    };
    return { state, optimizer: this.optimizer.stateDict(), saveModel: this.opts.saveModel, ema: this.ema?.stateDict() ?? null };
  }

  /**
   * Continues from the newest checkpoint of this phase, if there is one: weights, optimizer,
   * RNG states, data position and best metric. Returns the checkpoint's extra state, or null.
   * Metric lines written after that checkpoint (by the interrupted run) are dropped, so the log
   * reads as if the run had never stopped.
   */
  resume(): Record<string, unknown> | null {
    const dir = latestCheckpoint(this.dir);
    if (dir === null) {
      // Killed before this phase's first checkpoint: it starts over, so the lines it logged go.
      this.truncateLog(0);
      return null;
    }
    const { state, optimizer, ema } = loadCheckpoint(dir);
    if (!sameConfig(state.config, this.opts.config)) {
      throw new Error(`cannot resume ${dir}: it was written with a different config (start a new output_dir, or restore the original config)`);
    }
    this.opts.loadModel(join(dir, "model"));
    this.optimizer.loadStateDict(optimizer);
    for (const t of optimizer.tensors.values()) t.dispose();
    if (this.ema) {
      // The configs matched, so the checkpoint was written with the average on.
      if (!ema) throw new InputError(`cannot resume ${dir}: it has no ema.safetensors although sft.ema_decay is set`, { file: dir });
      this.ema.loadStateDict(ema);
    }
    if (ema) for (const t of ema.tensors.values()) t.dispose();
    T.setRngState(decodeRng(state.torchRng));
    this.dataRng.setState(state.dataRng);
    this.step = state.step;
    this.best = state.best;
    this.earlyStopped = state.extra?.early_stopped === true;
    this.truncateLog(state.step);
    this.opts.log?.(`resumed ${this.opts.phase} from ${dir} (step ${state.step})`);
    return state.extra ?? {};
  }

  private truncateLog(step: number): void {
    const file = this.logger.file;
    if (!this.writes || !existsSync(file)) return;
    // A line torn by a kill in the middle of its write does not parse; it is dropped too.
    const stepOf = (l: string) => {
      try {
        return (JSON.parse(l) as { step?: number }).step ?? Infinity;
      } catch {
        return Infinity;
      }
    };
    const kept = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "" && stepOf(l) <= step);
    writeFileAtomic(file, kept.map((l) => l + "\n").join(""));
  }

  /** Folder of the best checkpoint's model (or of the latest when validation never ran). */
  bestModelDir(): string {
    const best = join(this.dir, "checkpoints", "best", "model");
    return existsSync(best) ? best : join(this.dir, "checkpoints", stepDirName(this.step), "model");
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
    this.opts.dataParallel?.dispose();
  }
}
