/**
 * Constrained decoding for the task-vocabulary layout: a token automaton that allows exactly
 * the continuations of a valid rollout (SPEC §1), so every sample parses as "ok".
 *
 *   start ─<SLATE>→ slate ─id*→ slate ─</SLATE>→ between ─<RANK>→ rank ─id*→ rank ─</RANK>→ end ─<eos>→ done
 *
 * In the slate, an id is allowed while it is unused and the slate has fewer than n_max ids;
 * </SLATE> once it has one. In the ranking, an id is allowed while it is in the slate, not yet
 * ranked, and the ranking has fewer than k_max; </RANK> once it has one. Every state therefore
 * has a way to finish. allowedTokens is O(N).
 */
import type { TokenConstraint } from "../generation/constraint.js";
import type { VocabRolloutCodec } from "./grammar-tokens.js";

/** Where the automaton is: before <SLATE>, in the slate, before <RANK>, in the ranking, before <eos>, finished. */
export type VocabRolloutPhase = "start" | "slate" | "between" | "rank" | "end" | "done";

export interface VocabRolloutState {
  readonly phase: VocabRolloutPhase;
  /** Slate positions so far, in order. */
  readonly slate: readonly number[];
  /** Ranked positions so far, in order. */
  readonly ranking: readonly number[];
}

export class VocabRolloutConstraint implements TokenConstraint<VocabRolloutState> {
  /** Pool positions ordered by their token id, so allowed sets come out ascending without a sort. */
  private readonly positionsByToken: Int32Array;

  constructor(readonly codec: VocabRolloutCodec) {
    const positions = Array.from({ length: codec.layout.poolSize }, (_, i) => i + 1);
    positions.sort((a, b) => codec.idTokens[a - 1]! - codec.idTokens[b - 1]!);
    this.positionsByToken = Int32Array.from(positions);
  }

  initial(): VocabRolloutState {
    return { phase: "start", slate: [], ranking: [] };
  }

  isComplete(state: VocabRolloutState): boolean {
    return state.phase === "done";
  }

  allowedTokens(state: VocabRolloutState): Int32Array {
    const c = this.codec;
    switch (state.phase) {
      case "start":
        return Int32Array.of(c.openSlate);
      case "between":
        return Int32Array.of(c.openRank);
      case "end":
        return Int32Array.of(c.eos);
      case "done":
        return new Int32Array(0);
      case "slate": {
        const open = state.slate.length < c.layout.nMax;
        const ok = this.membership(state.slate);
        return this.idsWithTag(open ? (p) => !ok[p] : () => false, state.slate.length > 0 ? c.closeSlate : -1);
      }
      case "rank": {
        const open = state.ranking.length < c.layout.kMax;
        const inSlate = this.membership(state.slate);
        const ranked = this.membership(state.ranking);
        return this.idsWithTag(open ? (p) => inSlate[p] === 1 && !ranked[p] : () => false, state.ranking.length > 0 ? c.closeRank : -1);
      }
    }
  }

  advance(state: VocabRolloutState, token: number): VocabRolloutState {
    const c = this.codec;
    const allowed = this.allowedTokens(state);
    if (!allowed.includes(token)) {
      throw new RangeError(`token ${token} is not allowed here (allowed: ${Array.from(allowed).join(", ")})`);
    }
    switch (state.phase) {
      case "start":
        return { ...state, phase: "slate" };
      case "between":
        return { ...state, phase: "rank" };
      case "end":
        return { ...state, phase: "done" };
      case "slate":
        if (token === c.closeSlate) return { ...state, phase: "between" };
        return { ...state, slate: [...state.slate, this.positionOf(token)] };
      case "rank":
        if (token === c.closeRank) return { ...state, phase: "end" };
        return { ...state, ranking: [...state.ranking, this.positionOf(token)] };
      case "done":
        throw new RangeError("the rollout is complete");
    }
  }

  private membership(positions: readonly number[]): Uint8Array {
    const m = new Uint8Array(this.codec.layout.poolSize + 1);
    for (const p of positions) m[p] = 1;
    return m;
  }

  /** Tokens of the positions that pass `keep`, plus `tag` (when ≥ 0), ascending. */
  private idsWithTag(keep: (position: number) => boolean, tag: number): Int32Array {
    const out = new Int32Array(this.positionsByToken.length + 1);
    let n = 0;
    let tagPending = tag >= 0;
    for (const p of this.positionsByToken) {
      const t = this.codec.idTokens[p - 1]!;
      if (tagPending && tag < t) {
        out[n++] = tag;
        tagPending = false;
      }
      if (keep(p)) out[n++] = t;
    }
    if (tagPending) out[n++] = tag;
    return out.slice(0, n);
  }

  private positionOf(token: number): number {
    return this.codec.idTokens.indexOf(token) + 1;
  }
}
