/**
 * Supervised warm start (SPEC §5): teacher forcing on gold-format targets — the slate holds the
 * gold items plus filler from the pool, the ranking puts gold first — with cross-entropy on the
 * completion tokens only. Every RL method starts from its result.
 */
import * as T from "../../torch/index.js";
import type { PolicyModel } from "./policy.js";
import type { LlamaModel } from "../../models/llama.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import type { Rng } from "../../util/random.js";
import { allowedAlong, allowedUnion, type TokenConstraint } from "../../generation/constraint.js";
import { packSequences } from "./sequences.js";
import type { TrainingLoop } from "./loop.js";

export interface SftStepResult {
  loss: number;
  tokenAccuracy: number;
  gradNorm: number | null;
}

/**
 * With constrained decoding the policy is the masked, renormalised distribution (SPEC §1), so
 * SFT fits that distribution: its softmax runs over the allowed tokens only, and every gradient
 * goes to telling the pool's candidates apart. Tokens no step of the batch allows have
 * probability 0 everywhere, so the head runs on the union of the allowed sets only (hundreds of
 * columns against thousands; every column when `restrict` is false): `columns` ascending,
 * `forbidden` bool [N, columns] for every completion token of every pair in order, and
 * `columnOf` mapping a token to its column.
 */
function allowedColumns(pairs: readonly SftPair[], vocabSize: number, restrict: boolean): { columns: number[]; forbidden: T.Tensor; columnOf: Int32Array } {
  const steps = pairs.flatMap((p) => {
    const c = p.constraint!;
    const start = (p.constraintPrefix ?? []).reduce((state, t) => c.advance(state, t), c.initial(0));
    return allowedAlong(c, start, p.completion);
  });
  const { columns, columnOf } = allowedUnion(restrict ? steps : [Int32Array.from({ length: vocabSize }, (_, t) => t)], vocabSize);
  const m = new Uint8Array(steps.length * columns.length).fill(1);
  steps.forEach((a, row) => {
    for (const t of a) m[row * columns.length + columnOf[t]!] = 0;
  });
  return { columns, forbidden: T.tensor(m, { shape: [steps.length, columns.length], dtype: "bool" }), columnOf };
}

/**
 * Mean cross-entropy over the completion tokens of a batch of pairs, with the logits and targets
 * it was computed from (for token accuracy). Constrained, the softmax is over each step's allowed
 * tokens, computed on the allowed columns only unless `restrictToAllowed` is false (the
 * whole-vocabulary form, same values).
 */
export function sftLoss(model: LlamaModel, pairs: readonly SftPair[], padId: number, constrained: boolean, restrictToAllowed = true, dropout = 0) {
  const packed = packSequences(pairs.map((p) => p.prompt), pairs.map((p) => p.completion), padId);
  // The head runs only at completion positions: prompts are most of each row and carry no loss.
  const hidden = model.forward(packed.input, { hiddenOnly: true, dropout });
  const [b, t, d] = hidden.shape as [number, number, number];
  const positions = lossPositions(packed.targetMask.toFloat32Array());
  const rows = T.tensor(BigInt64Array.from(positions, BigInt));
  const selected = hidden.reshape(b * t, d).indexSelect(0, rows);
  let logits: T.Tensor, targets: T.Tensor;
  if (constrained) {
    const allowed = allowedColumns(pairs, model.config.vocabSize, restrictToAllowed);
    if (allowed.forbidden.size(0) !== positions.length) throw new Error(`sft: ${positions.length} loss positions for ${allowed.forbidden.size(0)} completion tokens`);
    const head = restrictToAllowed ? model.headWeight.indexSelect(0, T.tensor(BigInt64Array.from(allowed.columns, BigInt))) : model.headWeight;
    logits = T.linear(selected, head).maskedFill(allowed.forbidden, -Infinity);
    targets = T.tensor(BigInt64Array.from(pairs.flatMap((p) => p.completion.map((tok) => allowed.columnOf[tok]!)), BigInt));
  } else {
    logits = model.logits(selected);
    targets = packed.targets.reshape(b * t).indexSelect(0, rows);
  }
  return { loss: T.crossEntropy(logits, targets), logits, targets };
}

/** Flat indices of the positions whose mask is 1. */
function lossPositions(mask: Float32Array): number[] {
  const out: number[] = [];
  mask.forEach((m, i) => {
    if (m > 0) out.push(i);
  });
  return out;
}

/** A teacher-forcing pair: the loss covers `completion` only. */
export interface SftPair {
  prompt: number[];
  completion: number[];
  /** The grammar automaton of the pair's pool, started after `constraintPrefix`. */
  constraint?: TokenConstraint<unknown>;
  /** Completion tokens the prompt already ends with (the decoupled ranker's given slate). */
  constraintPrefix?: number[];
}

/** The unified model's pair: the prompt, and the gold slate-then-ranking completion (SPEC §5). */
export function unifiedPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  return { prompt: e.promptIds, completion: task.goldCompletion(e, rng), constraint: e.constraint as TokenConstraint<unknown> };
}

/**
 * One SFT step on a batch of training examples drawn with the loop's data generator. `pairOf`
 * turns an example into its (prompt, completion) pair: the unified layout by default; the
 * decoupled pipelines train a selector and a ranker on parts of it.
 */
export function sftStep(
  policy: PolicyModel,
  task: TaskSetup,
  loop: TrainingLoop,
  batchSize: number,
  constrained: boolean,
  pairOf: (e: EncodedExample, rng: Rng) => SftPair = (e, rng) => unifiedPair(task, e, rng),
  dropout = 0,
): SftStepResult {
  const lr = loop.currentLr();
  const batch = Array.from({ length: batchSize }, () => task.train[loop.dataRng.int(task.train.length)]!);
  const drawn = batch.map((e) => pairOf(e, loop.dataRng));
  // Data parallel: every rank draws the whole batch (keeping the data stream in step) and trains on its share.
  const dp = loop.opts.dataParallel;
  const pairs = dp ? dp.share(batchSize).map((i) => drawn[i]!) : drawn;
  const r = T.tidy(() => {
    const { loss, logits, targets } = sftLoss(policy.model, pairs, task.policyCodec.padId, constrained, true, dropout);
    loss.backward();
    const correct = T.noGrad(() => logits.argmax(-1).eq(targets).float().mean().item());
    return { loss: loss.item(), tokenAccuracy: correct };
  });
  // The loss is a mean over completion tokens: ranks weigh their gradients by their token counts.
  const gradNorm = loop.update(r.loss, pairs.reduce((n, p) => n + p.completion.length, 0));
  loop.step += 1;
  loop.logger.log({ step: loop.step, phase: loop.opts.phase, loss: loop.lastLoss, token_accuracy: r.tokenAccuracy, grad_norm: gradNorm, learning_rate: lr });
  return { ...r, loss: loop.lastLoss, gradNorm };
}
