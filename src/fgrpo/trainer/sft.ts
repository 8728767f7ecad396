/**
 * Supervised warm start (SPEC §5): teacher forcing on gold-format targets — the slate holds the
 * gold items plus filler from the pool, the ranking puts gold first — with cross-entropy on the
 * completion tokens only. Every RL method starts from its result.
 */
import * as T from "../../torch/index.js";
import type { PolicyModel } from "./policy.js";
import type { TaskSetup } from "./data.js";
import { packSequences } from "./sequences.js";
import type { TrainingLoop } from "./loop.js";

export interface SftStepResult {
  loss: number;
  tokenAccuracy: number;
  gradNorm: number | null;
}

/** One SFT step on a batch of training examples drawn with the loop's data generator. */
export function sftStep(policy: PolicyModel, task: TaskSetup, loop: TrainingLoop, batchSize: number): SftStepResult {
  const lr = loop.currentLr();
  const batch = Array.from({ length: batchSize }, () => task.train[loop.dataRng.int(task.train.length)]!);
  const completions = batch.map((e) => task.goldCompletion(e, loop.dataRng));
  const r = T.tidy(() => {
    const packed = packSequences(batch.map((e) => e.promptIds), completions, task.vocab.padId);
    const logits = policy.model.forward(packed.input);
    const [b, t, v] = logits.shape as [number, number, number];
    const flatTargets = packed.targets.reshape(b * t);
    const perToken = T.crossEntropy(logits.reshape(b * t, v), flatTargets, { reduction: "none" }).reshape(b, t);
    const tokens = packed.targetMask.sum();
    const loss = perToken.mul(packed.targetMask).sum().div(tokens);
    loss.backward();
    const correct = T.noGrad(() => logits.argmax(-1).eq(packed.targets).float().mul(packed.targetMask).sum().div(tokens).item());
    return { loss: loss.item(), tokenAccuracy: correct };
  });
  const gradNorm = loop.update(r.loss);
  loop.step += 1;
  loop.logger.log({ step: loop.step, phase: "sft", loss: r.loss, token_accuracy: r.tokenAccuracy, grad_norm: gradNorm, learning_rate: lr });
  return { ...r, gradNorm };
}
