/** Per-step logits processors: hooks that edit one sequence's logits before sampling. */

export interface ProcessorContext {
  /** The rollout's index in the result (prompt-major: prompt i's rollouts are i·G … i·G+G−1). */
  sequence: number;
  /** The prompt's ids. */
  prompt: readonly number[];
  /** The completion so far. */
  tokens: readonly number[];
}

/**
 * Edits one row of logits in place (for example sets −Infinity on forbidden tokens) before the
 * temperature and the constraint apply. Processors are not replayed by scoreCompletions: a
 * processor that changes the policy's distribution makes sampled and scored log-probs differ,
 * so for RL express masks as a TokenConstraint instead.
 */
export type LogitsProcessor = (logits: Float32Array, ctx: ProcessorContext) => void;

/** Forbids the listed tokens everywhere (e.g. padding or BOS inside a completion). */
export function banTokens(tokens: readonly number[]): LogitsProcessor {
  return (logits) => {
    for (const t of tokens) if (t >= 0 && t < logits.length) logits[t] = -Infinity;
  };
}
