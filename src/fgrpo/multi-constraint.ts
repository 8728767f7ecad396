/**
 * One constraint per prompt of a batch, behind the single TokenConstraint the generation engine
 * takes: rollouts of prompt i follow constraints[i]. Used when each pool has its own id tokens
 * (a model that writes the candidates' item tokens).
 */
import type { TokenConstraint } from "../generation/constraint.js";

export interface MultiState<S> {
  /** Which constraint the rollout follows. */
  k: number;
  s: S;
}

export class MultiConstraint<S> implements TokenConstraint<MultiState<S>> {
  constructor(readonly constraints: readonly TokenConstraint<S>[]) {
    if (constraints.length === 0) throw new RangeError("MultiConstraint: no constraints");
  }

  initial(prompt = 0): MultiState<S> {
    const c = this.constraints[prompt];
    if (c === undefined) throw new RangeError(`MultiConstraint: no constraint for prompt ${prompt} (have ${this.constraints.length})`);
    return { k: prompt, s: c.initial(0) };
  }

  allowedTokens(state: MultiState<S>): Int32Array {
    return this.constraints[state.k]!.allowedTokens(state.s);
  }

  advance(state: MultiState<S>, token: number): MultiState<S> {
    return { k: state.k, s: this.constraints[state.k]!.advance(state.s, token) };
  }

  isComplete(state: MultiState<S>): boolean {
    return this.constraints[state.k]!.isComplete(state.s);
  }
}
