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
