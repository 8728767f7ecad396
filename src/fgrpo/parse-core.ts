/**
 * The rollout parser shared by both tokenizations. A front end (text or token vocabulary) turns
 * the completion into lexemes with positions in its own unit (characters or tokens); this module
 * checks the grammar, classifies the rollout and finds the phase spans.
 */
import type { RolloutLayout } from "./layout.js";

export type LexKind = "open_slate" | "close_slate" | "open_rank" | "close_rank" | "id" | "sep" | "eos" | "other";

export interface Lexeme {
  kind: LexKind;
  /** The pool position, for kind "id". */
  id?: number;
  /** Half-open [start, end) in the front end's unit. */
  start: number;
  end: number;
}

/**
 * The validity taxonomy (SPEC §1). When several problems apply, the first in this order is
 * reported, from structural to semantic: wrong_format (a tag missing or out of order, a stray
 * symbol, an empty slate or ranking, text after the end), out_of_pool (an id outside 1..N),
 * repetition (an id twice in the slate or twice in the ranking), too_long (|slate| > n_max or
 * |ranking| > k_max), rank_not_in_slate (a ranked id the slate does not hold).
 */
export type RolloutStatus = "ok" | "wrong_format" | "out_of_pool" | "repetition" | "too_long" | "rank_not_in_slate";
export const ROLLOUT_STATUSES: readonly RolloutStatus[] = ["ok", "wrong_format", "out_of_pool", "repetition", "too_long", "rank_not_in_slate"];

/** Half-open [start, end) range of positions. */
export interface Span {
  start: number;
  end: number;
}

export interface ParsedRollout {
  status: RolloutStatus;
  /** Human-readable reason when status is not "ok". */
  detail: string;
  /** Slate ids as written (also for invalid rollouts, as far as they could be read). */
  slate: number[];
  /** Ranked ids as written. */
  ranking: number[];
  /**
   * From <SLATE> through </SLATE>. For wrong_format rollouts a best-effort span [ours]: from the
   * start of the completion to the end of </SLATE> (or to <RANK>, or to the end), so the format
   * penalty reaches the tokens that produced it.
   */
  slateSpan: Span | null;
  /**
   * From <RANK> through </RANK> and EOS. For wrong_format rollouts: from <RANK> (or the end of
   * the slate span) to the end of the completion.
   */
  rankSpan: Span | null;
}

/** What the structural pass read: ids, and lexeme indices of the tags (absent after an error). */
interface Structure {
  slate: number[];
  ranking: number[];
  /** Empty when the structure is sound. */
  error: string;
  openSlate?: number;
  closeSlate?: number;
  openRank?: number;
  /** </RANK>, or the eos lexeme when one is expected. */
  last?: number;
}

/** Reads `<SLATE> ids </SLATE> <RANK> id ([>] id)* </RANK> [eos]`. */
function readStructure(lex: readonly Lexeme[], expectEos: boolean): Structure {
  const slate: number[] = [];
  const ranking: number[] = [];
  const fail = (error: string): Structure => ({ slate, ranking, error });
  let i = 0;
  if (lex[i]?.kind !== "open_slate") return fail("the completion does not start with <SLATE>");
  const openSlate = i++;
  while (lex[i]?.kind === "id") slate.push(lex[i++]!.id!);
  if (lex[i]?.kind !== "close_slate") return fail(`expected a slate id or </SLATE>, found ${describe(lex[i])}`);
  const closeSlate = i++;
  if (slate.length === 0) return fail("the slate is empty");
  if (lex[i]?.kind !== "open_rank") return fail(`expected <RANK> after </SLATE>, found ${describe(lex[i])}`);
  const openRank = i++;
  while (lex[i]?.kind === "id") {
    ranking.push(lex[i++]!.id!);
    if (lex[i]?.kind === "sep" && lex[i + 1]?.kind === "id") i++;
  }
  if (lex[i]?.kind !== "close_rank") return fail(`expected a ranked id, ">" or </RANK>, found ${describe(lex[i])}`);
  let last = i++;
  if (ranking.length === 0) return fail("the ranking is empty");
  if (expectEos) {
    if (lex[i]?.kind !== "eos") return fail(`expected end of sequence after </RANK>, found ${describe(lex[i])}`);
    last = i++;
  }
  if (i < lex.length) return fail(`unexpected ${describe(lex[i])} after the end of the rollout`);
  return { slate, ranking, error: "", openSlate, closeSlate, openRank, last };
}

function describe(l: Lexeme | undefined): string {
  if (l === undefined) return "the end of the completion";
  return l.kind === "id" ? `id [${l.id}]` : l.kind === "other" ? "unexpected text" : l.kind;
}

function firstRepeat(ids: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/** Classifies the ids of a structurally sound rollout, in the precedence order of RolloutStatus. */
export function classifyIds(slate: readonly number[], ranking: readonly number[], layout: RolloutLayout): { status: RolloutStatus; detail: string } {
  const outside = [...slate, ...ranking].find((p) => !(p >= 1 && p <= layout.poolSize));
  if (outside !== undefined) return { status: "out_of_pool", detail: `id [${outside}] is not in the pool 1..${layout.poolSize}` };
  const rs = firstRepeat(slate);
  if (rs !== undefined) return { status: "repetition", detail: `slate repeats [${rs}]` };
  const rr = firstRepeat(ranking);
  if (rr !== undefined) return { status: "repetition", detail: `ranking repeats [${rr}]` };
  if (slate.length > layout.nMax) return { status: "too_long", detail: `slate has ${slate.length} ids, at most ${layout.nMax} allowed` };
  if (ranking.length > layout.kMax) return { status: "too_long", detail: `ranking has ${ranking.length} ids, at most ${layout.kMax} allowed` };
  const inSlate = new Set(slate);
  const stray = ranking.find((p) => !inSlate.has(p));
  if (stray !== undefined) return { status: "rank_not_in_slate", detail: `ranked id [${stray}] is not in the slate` };
  return { status: "ok", detail: "" };
}

/**
 * Parses lexemes. `length` is the completion's length in the front end's unit (for the
 * best-effort spans of malformed rollouts). With `expectEos` the rollout must end with an eos
 * lexeme (token-level parsing); without it (plain text) no eos may appear.
 */
export function parseLexemes(lex: readonly Lexeme[], layout: RolloutLayout, length: number, expectEos: boolean): ParsedRollout {
  const s = readStructure(lex, expectEos);
  if (s.error !== "") {
    const closeSlate = lex.find((l) => l.kind === "close_slate");
    const openRankAt = lex.find((l) => l.kind === "open_rank")?.start;
    const slateEnd = closeSlate?.end ?? openRankAt ?? length;
    const rankStart = openRankAt !== undefined && openRankAt >= slateEnd ? openRankAt : slateEnd;
    return {
      status: "wrong_format",
      detail: s.error,
      slate: s.slate,
      ranking: s.ranking,
      slateSpan: slateEnd > 0 ? { start: 0, end: slateEnd } : null,
      rankSpan: rankStart < length ? { start: rankStart, end: length } : null,
    };
  }
  const { status, detail } = classifyIds(s.slate, s.ranking, layout);
  return {
    status,
    detail,
    slate: s.slate,
    ranking: s.ranking,
    slateSpan: { start: lex[s.openSlate!]!.start, end: lex[s.closeSlate!]!.end },
    rankSpan: { start: lex[s.openRank!]!.start, end: lex[s.last!]!.end },
  };
}
