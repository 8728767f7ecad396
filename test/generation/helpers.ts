/** A small hand-written constraint and model for the generation tests. */
import type { TokenConstraint } from "../../src/generation/index.js";

export interface IncreasingState {
  last: number;
  count: number;
  done: boolean;
}

/** Exactly `n` strictly increasing ids from [lo, hi], then EOS (id 2). */
export class IncreasingIds implements TokenConstraint<IncreasingState> {
  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly n: number,
  ) {}
  initial(): IncreasingState {
    return { last: -1, count: 0, done: false };
  }
  allowedTokens(s: IncreasingState): Int32Array {
    if (s.done) return new Int32Array(0);
    if (s.count === this.n) return Int32Array.of(2);
    const out: number[] = [];
    // Leave room for the ids still to come.
    for (let t = Math.max(this.lo, s.last + 1); t <= this.hi - (this.n - s.count - 1); t++) out.push(t);
    return Int32Array.from(out);
  }
  advance(s: IncreasingState, token: number): IncreasingState {
    if (!this.allowedTokens(s).includes(token)) throw new Error(`token ${token} not allowed`);
    return token === 2 ? { ...s, done: true } : { last: token, count: s.count + 1, done: false };
  }
  isComplete(s: IncreasingState): boolean {
    return s.done;
  }
}
