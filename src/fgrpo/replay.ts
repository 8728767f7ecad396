/**
 * Replays a completion through a constraint and returns the allowed set before every token.
 * With constrained decoding the policy is the masked, renormalised distribution (SPEC §1), so
 * the trainer recomputes exactly these masks to score old, new and reference log-probs.
 */
import type { TokenConstraint } from "../generation/constraint.js";

export interface ReplayedMasks {
  /** allowed[t] = token ids allowed at completion step t (ascending). */
  allowed: Int32Array[];
  /** True when the completion ended the automaton (its last token was the EOS). */
  complete: boolean;
}

/**
 * Walks `tokens` through `constraint`. Throws a RangeError naming the step when a token was not
 * allowed (the completion was not sampled under this constraint) or comes after completion.
 */
export function replayConstraint<S>(constraint: TokenConstraint<S>, tokens: readonly number[]): ReplayedMasks {
  const allowed: Int32Array[] = [];
  let state = constraint.initial();
  for (let t = 0; t < tokens.length; t++) {
    if (constraint.isComplete(state)) throw new RangeError(`step ${t}: token ${tokens[t]} comes after the completion ended`);
    allowed.push(constraint.allowedTokens(state));
    try {
      state = constraint.advance(state, tokens[t]!);
    } catch (e) {
      throw new RangeError(`step ${t}: ${(e as Error).message}`);
    }
  }
  return { allowed, complete: constraint.isComplete(state) };
}

/**
 * The same masks as a dense 0/1 matrix [tokens.length × vocabSize] (row-major), ready to become
 * a tensor; rows past the completion are left to the caller.
 */
export function denseMasks(masks: ReplayedMasks, vocabSize: number): Uint8Array {
  const out = new Uint8Array(masks.allowed.length * vocabSize);
  masks.allowed.forEach((row, t) => {
    for (const id of row) out[t * vocabSize + id] = 1;
  });
  return out;
}
