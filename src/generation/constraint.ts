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
 * a token id below `vocab` to its column (−1 outside the union): the output-head columns a
 * constrained step, completion or batch needs.
 */
export function allowedUnion(sets: Iterable<Int32Array | null>, vocab: number): { columns: number[]; columnOf: Int32Array } {
  const columnOf = new Int32Array(vocab).fill(-1);
  for (const set of sets) for (const t of set ?? []) columnOf[t] = 0;
  const columns: number[] = [];
  columnOf.forEach((mark, t) => {
    if (mark === 0) columns.push(t);
  });
  columns.forEach((t, c) => (columnOf[t] = c));
  return { columns, columnOf };
}
