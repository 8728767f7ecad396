/**
 * One RL step (SPEC §5): B prompts × G rollouts sampled under the (optionally constrained)
 * policy, per-phase rewards and advantages, then μ passes over minibatches of the rollouts, each
 * ending in an optimizer update. π_old is the policy that sampled the batch: every minibatch's
 * "old" log-probs are scored before the step's first update (the first minibatch takes its own
 * scoring pass, detached, so its ratios are exactly 1; the others are scored up front without
 * gradients), and every later minibatch and pass measures its ratios and clipping against them.
 */
import * as T from "../../torch/index.js";
import { generate } from "../../generation/generate.js";
import { scoreCompletions } from "../../generation/score.js";
import { batchPhaseMasks } from "../phase-masks.js";
import { fgrpoLoss, grpoLoss, gspoLoss, meanTokenEntropy, type ObjectiveResult } from "../objectives.js";
import type { RewardConfig } from "../rewards.js";
import { clipBounds, type RlConfig } from "./config.js";
import { assembleRollouts, type RolloutBatch } from "./rollouts.js";
import type { TaskSetup } from "./data.js";
import type { PolicyModel } from "./policy.js";
import type { TrainingLoop } from "./loop.js";

export interface RlStepRecord extends Record<string, unknown> {
  step: number;
}

export interface RlContext {
  policy: PolicyModel;
  /**
   * Frozen reference policy, present only when beta > 0; scored with its LoRA adapters off
   * (so with LoRA it can be the policy itself, whose base model is the reference).
   */
  reference: PolicyModel | null;
  task: TaskSetup;
  rl: RlConfig;
  reward: RewardConfig;
  loop: TrainingLoop;
  /** Sees every rollout batch and the record logged for it (tests check the logged reward). */
  onBatch?: (batch: RolloutBatch, record: RlStepRecord) => void;
}

export function rewardConfigOf(rl: RlConfig): RewardConfig {
  return {
    gen: rl.coverage_reward,
    rank: "ndcg",
    gain: rl.utility_gain,
    idcg: rl.utility_idcg,
    formatPenalty: { gen: rl.format_penalty, rank: rl.format_penalty },
  };
}

function maxNewTokens(ctx: RlContext): number {
  return ctx.rl.max_completion_length ?? ctx.task.policyCodec.maxCompletionTokens(ctx.task.layout);
}

/** Samples the step's rollouts and scores them with the rewards. */
export function sampleRollouts(ctx: RlContext): { batch: RolloutBatch; samplingLogprobs: number[][]; msGeneration: number; tokens: number } {
  const { rl, task, loop } = ctx;
  const drawn = Array.from({ length: rl.prompts_per_step }, () => task.train[loop.dataRng.int(task.train.length)]!);
  // The sampler's stream, drawn from the data generator so resumed runs replay it; each prompt
  // samples from its own seed, so data-parallel ranks, each with its share, draw what one process would.
  const stepSeed = loop.dataRng.nextUint32();
  const dp = loop.opts.dataParallel;
  const mine = dp ? dp.share(rl.prompts_per_step, rl.num_minibatches) : drawn.map((_, i) => i);
  const examples = mine.map((i) => drawn[i]!);
  const t0 = performance.now();
  const gen = T.noGrad(() =>
    generate(ctx.policy.model, examples.map((e) => e.promptIds), {
      maxNewTokens: maxNewTokens(ctx),
      numGenerations: rl.num_generations,
      temperature: rl.temperature,
      topK: rl.top_k > 0 ? rl.top_k : undefined,
      topP: rl.top_p < 1 ? rl.top_p : undefined,
      stopTokens: [task.policyCodec.eosId],
      constraint: rl.constrained_decoding ? task.batchConstraint(examples) : undefined,
      seed: stepSeed,
      seeds: mine.map((i) => promptSeed(stepSeed, i)),
    }),
  );
  const msGeneration = performance.now() - t0;
  const globalRewards = dp?.globalRewards(rl.prompts_per_step, rl.num_minibatches, rl.num_generations);
  const batch = assembleRollouts(task, examples, gen.completions, rl.num_generations, ctx.reward, { scaleRewards: rl.scale_rewards, eps: 1e-4 }, rl.rank_weight, globalRewards);
  const tokens = gen.completions.reduce((s, c) => s + c.length, 0);
  return { batch, samplingLogprobs: gen.logprobs, msGeneration, tokens };
}

/** Prompt i's sampling seed within a step (a distinct stream per prompt). */
function promptSeed(stepSeed: number, i: number): number {
  return (stepSeed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
}

/** Tensors of one minibatch (rows `rows` of the batch), built at the scored width. */
function minibatchTensors(batch: RolloutBatch, rows: number[], width: number) {
  const masks = batchPhaseMasks(rows.map((i) => ({ slateSpan: batch.parsed[i]!.slateSpan, rankSpan: batch.parsed[i]!.rankSpan, length: batch.completions[i]!.length })), width);
  const shape = [rows.length, width];
  const pick = (a: Float64Array) => T.tensor(Float32Array.from(rows, (i) => a[i]!));
  return {
    slate: T.tensor(masks.slate, { shape }),
    rank: T.tensor(masks.rank, { shape }),
    completion: T.tensor(masks.completion, { shape }),
    advGen: pick(batch.advGen),
    advRank: pick(batch.advRank),
    adv: pick(batch.advJoint),
  };
}

function objective(ctx: RlContext, lp: T.Tensor, old: T.Tensor, ref: T.Tensor | null, m: ReturnType<typeof minibatchTensors>): ObjectiveResult {
  const clip = { ...clipBounds(ctx.rl), beta: ctx.rl.beta };
  const base = { logprobs: lp, oldLogprobs: old, refLogprobs: ref, completionMask: m.completion };
  switch (ctx.rl.method) {
    case "fgrpo":
      return fgrpoLoss({ ...base, slateMask: m.slate, rankMask: m.rank, advGen: m.advGen, advRank: m.advRank }, { ...clip, rankWeight: ctx.rl.rank_weight });
    case "grpo":
      return grpoLoss({ ...base, adv: m.adv }, { ...clip, lossType: ctx.rl.loss_type, maxCompletionLength: maxNewTokens(ctx) });
    case "gspo":
    case "gspo_token":
      return gspoLoss({ ...base, adv: m.adv }, { ...clip, tokenLevel: ctx.rl.method === "gspo_token" });
  }
}

/** Rows of the rollout batch in minibatch `mb` (consecutive, so whole groups stay together). */
function minibatchRows(mb: number, perMinibatch: number): number[] {
  return Array.from({ length: perMinibatch }, (_, k) => mb * perMinibatch + k);
}

function logprobMismatch(scored: T.Tensor, sampled: number[][]): number {
  const width = scored.size(1);
  const values = T.noGrad(() => scored.toFloat32Array());
  let worst = 0;
  sampled.forEach((row, r) => {
    for (let t = 0; t < row.length; t++) worst = Math.max(worst, Math.abs(values[r * width + t]! - row[t]!));
  });
  return worst;
}

/** Rollouts generated by the end of `step` (prompts × G per step, summed over data-parallel ranks). */
export function rolloutsSeen(rl: RlConfig, step: number): number {
  return step * rl.prompts_per_step * rl.num_generations;
}

/** Runs one full RL step and logs it. Returns the logged record. */
export function rlStep(ctx: RlContext): RlStepRecord {
  const { rl, loop, task } = ctx;
  const lr = loop.currentLr();
  const { batch, samplingLogprobs, msGeneration, tokens } = sampleRollouts(ctx);
  const rows = batch.completions.length;
  const perMinibatch = rows / rl.num_minibatches;
  const oldLogprobs = new Map<number, T.Tensor>();
  const batchConstraint = task.batchConstraint(batch.examples);
  const metricsSum: Record<string, number> = {};
  let msScoring = 0, msUpdate = 0, lossSum = 0, entropySum = 0, gradNormSum = 0, updates = 0, skipped = 0, mismatch = 0;
  const scoreOpts = (idx: number[]) => ({
    groupOf: idx.map((i) => Math.floor(i / batch.groupSize)),
    constraint: rl.constrained_decoding ? batchConstraint : undefined,
    temperature: rl.temperature,
    sharedPrefix: true,
  });
  try {
    // π_old of minibatches after the first, scored before any update moves the policy (scoring
    // them inside the loop would measure each against the previous minibatch's update: ratio ≡ 1
    // on stale log-probs, and clipping against the wrong policy).
    const t0 = performance.now();
    for (let mb = 1; mb < rl.num_minibatches; mb++) {
      const idx = minibatchRows(mb, perMinibatch);
      const lp = T.keep(T.tidy(() => T.noGrad(() => scoreCompletions(ctx.policy.model, batch.examples.map((e) => e.promptIds), idx.map((i) => batch.completions[i]!), scoreOpts(idx)).logprobs)));
      oldLogprobs.set(mb, lp);
      mismatch = Math.max(mismatch, logprobMismatch(lp, idx.map((i) => samplingLogprobs[i]!)));
    }
    msScoring += performance.now() - t0;
    for (let pass = 0; pass < rl.num_iterations; pass++) {
      for (let mb = 0; mb < rl.num_minibatches; mb++) {
        const idx = minibatchRows(mb, perMinibatch);
        const prompts = batch.examples.map((e) => e.promptIds);
        const completions = idx.map((i) => batch.completions[i]!);
        const t0 = performance.now();
        const r = T.tidy(() => {
          const scored = scoreCompletions(ctx.policy.model, prompts, completions, scoreOpts(idx));
          const width = scored.logprobs.size(1);
          const m = minibatchTensors(batch, idx, width);
          if (pass === 0 && mb === 0) {
            oldLogprobs.set(mb, T.keep(scored.logprobs.detach()));
            mismatch = Math.max(mismatch, logprobMismatch(scored.logprobs, idx.map((i) => samplingLogprobs[i]!)));
          }
          const refModel = ctx.reference?.model;
          const ref = refModel ? T.noGrad(() => refModel.withoutAdapters(() => scoreCompletions(refModel, prompts, completions, scoreOpts(idx)).logprobs)) : null;
          const out = objective(ctx, scored.logprobs, oldLogprobs.get(mb)!, ref, m);
          // dapo averages over the tokens of the whole (global) minibatch, so data-parallel ranks weigh
          // their gradients by their tokens; bnpo, as in TRL, normalises by each rank's own tokens.
          const weight = rl.method === "grpo" && rl.loss_type === "dapo" ? Math.max(1, m.completion.sum().item()) : 1;
          const t1 = performance.now();
          msScoring += t1 - t0;
          loop.beforeBackward(weight);
          out.loss.backward();
          // The update time covers backward, gradient clipping and the optimizer step.
          msUpdate += performance.now() - t1;
          return { loss: out.loss.item(), metrics: out.metrics, entropy: meanTokenEntropy(scored.entropy, m.completion), weight };
        });
        const t2 = performance.now();
        const norm = loop.update(r.loss, r.weight);
        msUpdate += performance.now() - t2;
        updates += 1;
        if (norm === null) skipped += 1;
        else gradNormSum += norm;
        lossSum += loop.lastLoss;
        entropySum += r.entropy;
        for (const [k, v] of Object.entries(r.metrics)) metricsSum[k] = (metricsSum[k] ?? 0) + v;
      }
    }
  } finally {
    for (const t of oldLogprobs.values()) t.dispose();
  }
  loop.step += 1;
  const msTotal = msGeneration + msScoring + msUpdate;
  const record: RlStepRecord = {
    step: loop.step,
    phase: "rl",
    method: rl.method,
    // The x axis of sample-efficiency curves: rollouts of the whole batch (all data-parallel
    // ranks) up to this step; steps are all the same size, so a resumed run counts on correctly.
    rollouts_seen: rolloutsSeen(rl, loop.step),
    loss: lossSum / updates,
    reward_gen_mean: batch.stats.gen.rewardMean,
    reward_gen_std: batch.stats.gen.rewardStd,
    reward_rank_mean: batch.stats.rank.rewardMean,
    reward_rank_std: batch.stats.rank.rewardStd,
    reward_joint_mean: batch.stats.joint.rewardMean,
    adv_gen_std: batch.stats.gen.advantageStd,
    adv_rank_std: batch.stats.rank.advantageStd,
    adv_joint_std: batch.stats.joint.advantageStd,
    zero_var_frac_gen: batch.stats.gen.zeroVarianceFraction,
    zero_var_frac_rank: batch.stats.rank.zeroVarianceFraction,
    zero_var_frac_joint: batch.stats.joint.zeroVarianceFraction,
    validity: batch.statusCounts,
    entropy: entropySum / updates,
    grad_norm: updates - skipped > 0 ? gradNormSum / (updates - skipped) : null,
    skipped_updates: skipped,
    learning_rate: lr,
    completion_tokens: tokens,
    rollout_tokens_per_s: tokens / (msGeneration / 1000),
    rollouts_per_s: rows / (msTotal / 1000),
    ms_generation: msGeneration,
    ms_scoring: msScoring,
    ms_update: msUpdate,
    // Largest |log-prob at sampling − log-prob at scoring| over the batch: float noise (~1e-5)
    // when sampling and scoring agree on temperature and masks; large values reveal a mismatch.
    logprob_mismatch: mismatch,
  };
  if (loop.opts.dataParallel) record.ms_allreduce = loop.opts.dataParallel.takeReduceMs();
  for (const [k, v] of Object.entries(metricsSum)) record[k] = v / updates;
  loop.logger.log(record);
  ctx.onBatch?.(batch, record);
  return record;
}
