/**
 * The rollout layout of SPEC §1: one completion holds a slate of pool ids, then a ranking of
 * some of them.
 *
 *     <SLATE> [4] [11] [2] </SLATE> <RANK> [11] > [4] </RANK> <eos>
 *
 * Pool positions are 1-based, shown to the model as "[1]" … "[N]" (RankGPT convention [ours]).
 */

export interface RolloutLayout {
  /** N, the number of candidates in the pool (20 [summary]). */
  poolSize: number;
  /** Most ids the slate may hold (n_max = 10 [summary]; 5 limits coverage, 15 adds noise). */
  nMax: number;
  /** Most ids the ranking may hold (k_max = 5 [summary]); also the NDCG cutoff of the rank reward. */
  kMax: number;
}

export const DEFAULT_LAYOUT: Readonly<RolloutLayout> = Object.freeze({ poolSize: 20, nMax: 10, kMax: 5 });

/** One rollout's content: 1-based pool positions. */
export interface Rollout {
  slate: number[];
  ranking: number[];
}

export const TAGS = Object.freeze({
  openSlate: "<SLATE>",
  closeSlate: "</SLATE>",
  openRank: "<RANK>",
  closeRank: "</RANK>",
});

/** The symbol (and text) of a pool position: "[7]". */
export function idSymbol(position: number): string {
  return `[${position}]`;
}

/** The pool position a symbol names ("[7]" → 7), or undefined when it is not an id symbol. */
export function parseIdSymbol(symbol: string): number | undefined {
  const m = /^\[([0-9]+)\]$/.exec(symbol);
  return m ? Number(m[1]) : undefined;
}

/** Throws a RangeError naming the field when a layout is not usable. */
export function validateLayout(layout: RolloutLayout): void {
  for (const field of ["poolSize", "nMax", "kMax"] as const) {
    const v = layout[field];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`layout.${field} must be a positive integer, got ${v}`);
  }
}

/** True when a rollout satisfies every validity rule of SPEC §1. */
export function isValidRollout(r: Rollout, layout: RolloutLayout): boolean {
  const inPool = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= layout.poolSize;
  const slate = new Set(r.slate);
  return (
    r.slate.length >= 1 &&
    r.slate.length <= layout.nMax &&
    slate.size === r.slate.length &&
    r.slate.every(inPool) &&
    r.ranking.length >= 1 &&
    r.ranking.length <= layout.kMax &&
    new Set(r.ranking).size === r.ranking.length &&
    r.ranking.every((p) => slate.has(p))
  );
}

/**
 * Longest valid completion in the token-vocabulary layout: <SLATE>, n_max ids, </SLATE>,
 * <RANK>, k_max ids, </RANK>, <eos>. max_completion_length must be at least this.
 */
export function maxCompletionTokens(layout: RolloutLayout): number {
  return layout.nMax + layout.kMax + 5;
}

/** Longest valid completion in the text layout, in characters (EOS not counted). */
export function maxCompletionChars(layout: RolloutLayout): number {
  const idWidth = String(layout.poolSize).length + 2;
  const slateIds = Math.min(layout.nMax, layout.poolSize);
  const rankIds = Math.min(layout.kMax, slateIds);
  return "<SLATE>".length + slateIds * (1 + idWidth) + " </SLATE> <RANK> ".length + rankIds * idWidth + (rankIds - 1) * 3 + " </RANK>".length;
}
