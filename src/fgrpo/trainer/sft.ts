/**
 * Supervised warm start (SPEC §5): teacher forcing on gold-format targets — the slate holds the
 * gold items plus filler from the pool, the ranking puts gold first — with cross-entropy on the
 * completion tokens only. Every RL method starts from its result.
 */
import * as T from "../../torch/index.js";
import type { PolicyModel } from "./policy.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import type { Rng } from "../../util/random.js";
import type { TokenConstraint } from "../../generation/constraint.js";
import { packSequences } from "./sequences.js";
import type { TrainingLoop } from "./loop.js";

export interface SftStepResult {
  loss: number;
  tokenAccuracy: number;
  gradNorm: number | null;
}

/**
 * bool [N, V]: true where the automaton forbids the token, for every completion token of every
 * pair in order. With constrained decoding the policy is the masked, renormalised distribution
 * (SPEC §1), so SFT fits that distribution: its softmax runs over the allowed tokens only, and
 * every gradient goes to telling the pool's candidates apart.
 */
function forbiddenRows(pairs: readonly SftPair[], vocabSize: number): T.Tensor {
  const n = pairs.reduce((s, p) => s + p.completion.length, 0);
  const m = new Uint8Array(n * vocabSize).fill(1);
  let row = 0;
  for (const p of pairs) {
    const c = p.constraint!;
    let state = c.initial(0);
    for (const t of p.constraintPrefix ?? []) state = c.advance(state, t);
    for (const t of p.completion) {
      for (const a of c.allowedTokens(state)) m[row * vocabSize + a] = 0;
      state = c.advance(state, t);
      row++;
    }
  }
  return T.tensor(m, { shape: [n, vocabSize], dtype: "bool" });
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
): SftStepResult {
  const lr = loop.currentLr();
  const batch = Array.from({ length: batchSize }, () => task.train[loop.dataRng.int(task.train.length)]!);
  const pairs = batch.map((e) => pairOf(e, loop.dataRng));
  const r = T.tidy(() => {
    const packed = packSequences(pairs.map((p) => p.prompt), pairs.map((p) => p.completion), task.vocab.padId);
    // The head runs only at completion positions: prompts are most of each row and carry no loss.
    const hidden = policy.model.forward(packed.input, { hiddenOnly: true });
    const [b, t, d] = hidden.shape as [number, number, number];
    const rows = T.tensor(BigInt64Array.from(lossPositions(packed.targetMask.toFloat32Array()), BigInt));
    let logits = policy.model.logits(hidden.reshape(b * t, d).indexSelect(0, rows));
    if (constrained) logits = logits.maskedFill(forbiddenRows(pairs, logits.size(1)), -Infinity);
    const targets = packed.targets.reshape(b * t).indexSelect(0, rows);
    const loss = T.crossEntropy(logits, targets);
    loss.backward();
    const correct = T.noGrad(() => logits.argmax(-1).eq(targets).float().mean().item());
    return { loss: loss.item(), tokenAccuracy: correct };
  });
  const gradNorm = loop.update(r.loss);
  loop.step += 1;
  loop.logger.log({ step: loop.step, phase: loop.opts.phase, loss: r.loss, token_accuracy: r.tokenAccuracy, grad_norm: gradNorm, learning_rate: lr });
  return { ...r, gradNorm };
}
