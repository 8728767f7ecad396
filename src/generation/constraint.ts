/**
 * The constrained-decoding hook of the generation engine. A constraint is a deterministic
 * automaton over token ids: the engine asks it, at every step and for every sequence, which
 * tokens may come next, masks all others before sampling, and advances it with the sampled
 * token. The F-GRPO rollout grammar (src/fgrpo) implements it; the engine knows nothing of it.
 *
 * When a constraint is active the policy *is* the masked, renormalised distribution, so the
 * trainer scores completions under the same masks (see SPEC.md §1).
 */
export interface TokenConstraint<S = unknown> {
  /**
   * The state before the first completion token of a rollout of prompt `prompt` (its index in
   * the batch). Most constraints ignore it; one whose rules depend on the prompt (its own pool,
   * or a slate the prompt already holds) starts each prompt's rollouts in that prompt's state.
   */
  initial(prompt?: number): S;
  /**
   * Token ids allowed next, ascending, no duplicates. Empty only when the state is complete.
   * Must be cheap: it runs once per sequence per decoding step.
   */
  allowedTokens(state: S): Int32Array;
  /** The state after `token`. Throws when `token` is not allowed in `state`. */
  advance(state: S, token: number): S;
  /** True once the completion is finished (the end-of-sequence token has been consumed). */
  isComplete(state: S): boolean;
}

/**
 * The allowed set before each token of `tokens`, replaying the constraint from `state` (which
 * throws, as `advance` does, on a token that is not allowed).
 */
export function allowedAlong<S>(constraint: TokenConstraint<S>, state: S, tokens: readonly number[]): Int32Array[] {
  return tokens.map((token) => {
    const allowed = constraint.allowedTokens(state);
    state = constraint.advance(state, token);
    return allowed;
  });
}

/**
 * The union of token sets (null entries skipped) as ascending `columns`, with `columnOf` mapping
 * each token of the union to its column (entries of other tokens are unspecified: callers only
 * look up tokens of the sets): the output-head columns a constrained step, completion or batch
 * needs. Only the union is visited and sorted, so a decoding step over a 150k-token vocabulary
 * does not pay a pass over it (a per-step pass plus a fill of −1s cost ~5 ms).
 */
export function allowedUnion(sets: Iterable<Int32Array | null>, vocab: number): { columns: number[]; columnOf: Int32Array } {
  const columnOf = new Int32Array(vocab); // zero-initialised: 1 marks a token already collected
  const columns: number[] = [];
  for (const set of sets) {
    for (const t of set ?? []) {
      if (columnOf[t] === 1) continue;
      columnOf[t] = 1;
      columns.push(t);
    }
  }
  columns.sort((a, b) => a - b);
  columns.forEach((t, c) => (columnOf[t] = c));
  return { columns, columnOf };
}
