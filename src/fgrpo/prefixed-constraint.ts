/**
 * A constraint whose rollouts continue tokens the prompts already hold: rollout of prompt i
 * starts in the state the base automaton reaches after `prefixes[i]`. The decoupled ranker
 * uses it — its prompt ends with a slate chosen by another model, and its ranking must be drawn
 * from that slate.
 */
import type { TokenConstraint } from "../generation/constraint.js";

export class PrefixedConstraint<S> implements TokenConstraint<S> {
  private readonly starts: S[];

  constructor(
    readonly base: TokenConstraint<S>,
    prefixes: readonly (readonly number[])[],
  ) {
    this.starts = prefixes.map((prefix, i) => {
      let state = base.initial(i);
      for (const token of prefix) state = base.advance(state, token);
      return state;
    });
  }

  initial(prompt = 0): S {
    const s = this.starts[prompt];
    if (s === undefined) throw new RangeError(`PrefixedConstraint: no prefix for prompt ${prompt} (have ${this.starts.length})`);
    return s;
  }

  allowedTokens(state: S): Int32Array {
    return this.base.allowedTokens(state);
  }

  advance(state: S, token: number): S {
    return this.base.advance(state, token);
  }

  isComplete(state: S): boolean {
    return this.base.isComplete(state);
  }
}
