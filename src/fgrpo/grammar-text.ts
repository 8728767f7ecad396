/**
 * The rollout layout rendered as text, for pretrained language models:
 *
 *     <SLATE> [4] [11] [2] </SLATE> <RANK> [11] > [4] </RANK>
 *
 * Rendering gives this canonical form (the one the text automaton enforces). Parsing is
 * tolerant of whitespace (none, or any amount, between symbols and inside brackets) and accepts
 * ranked ids separated by ">" or by whitespace alone.
 */
import { idSymbol, TAGS, type Rollout, type RolloutLayout } from "./layout.js";
import { parseLexemes, type Lexeme, type ParsedRollout, type Span } from "./parse-core.js";

/** The canonical text of a rollout (without the end-of-sequence token). */
export function renderRolloutText(r: Rollout): string {
  return [
    TAGS.openSlate,
    ...r.slate.map(idSymbol),
    TAGS.closeSlate,
    TAGS.openRank,
    r.ranking.map(idSymbol).join(" > "),
    TAGS.closeRank,
  ].join(" ");
}

const LEX = /\s+|(<SLATE>)|(<\/SLATE>)|(<RANK>)|(<\/RANK>)|\[\s*([0-9]+)\s*\]|(>)/y;

/** Splits text into lexemes with character positions; whitespace is dropped. */
export function lexText(text: string): Lexeme[] {
  const out: Lexeme[] = [];
  let pos = 0;
  while (pos < text.length) {
    LEX.lastIndex = pos;
    const m = LEX.exec(text);
    if (m === null) {
      out.push({ kind: "other", start: pos, end: pos + 1 });
      pos++;
      continue;
    }
    const end = pos + m[0].length;
    if (m[1]) out.push({ kind: "open_slate", start: pos, end });
    else if (m[2]) out.push({ kind: "close_slate", start: pos, end });
    else if (m[3]) out.push({ kind: "open_rank", start: pos, end });
    else if (m[4]) out.push({ kind: "close_rank", start: pos, end });
    else if (m[5] !== undefined) out.push({ kind: "id", id: Number(m[5]), start: pos, end });
    else if (m[6]) out.push({ kind: "sep", start: pos, end });
    pos = end;
  }
  return out;
}

/** Parses completion text (no end-of-sequence token); spans are character ranges. */
export function parseRolloutText(text: string, layout: RolloutLayout): ParsedRollout {
  return parseLexemes(lexText(text), layout, text.length, false);
}

/** A text tokenizer as the grammar sees it: every token id's decoded string, and the EOS ids. */
export interface TextTokenizer {
  /**
   * pieces[id] = the text token `id` contributes when decoded in context (for SentencePiece, "▁"
   * already turned into a space). The pieces of a completion must concatenate to its text.
   */
  pieces: readonly string[];
  /** Ids that end the completion (e.g. "<|im_end|>" and "<|endoftext|>"). */
  eosIds: readonly number[];
}

/** End offsets of each piece in the concatenated text. */
function pieceEnds(pieces: readonly string[]): number[] {
  const ends: number[] = [];
  let off = 0;
  for (const p of pieces) ends.push((off += p.length));
  return ends;
}

/** Index of the token holding character `c`: the first token whose end is past c. */
function tokenAtChar(ends: readonly number[], c: number): number {
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid]! > c) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Maps a character span to the token span that covers it: every token holding at least one of
 * its characters (and any empty tokens between them). `pieces` are the completion's token
 * strings in order. An empty character span maps to an empty token span.
 */
export function charSpanToTokenSpan(pieces: readonly string[], span: Span): Span {
  return spanInTokens(pieceEnds(pieces), span);
}

function spanInTokens(ends: readonly number[], span: Span): Span {
  if (span.end <= span.start) {
    const at = span.start >= (ends[ends.length - 1] ?? 0) ? ends.length : tokenAtChar(ends, span.start);
    return { start: at, end: at };
  }
  return { start: tokenAtChar(ends, span.start), end: tokenAtChar(ends, span.end - 1) + 1 };
}

/**
 * Parses a sampled completion (token ids) of a text model. The text is the concatenation of the
 * pieces before the first EOS; the rollout must end with EOS. Spans are token ranges: the slate
 * span from the token holding "<" of <SLATE> through the one holding ">" of </SLATE>, the rank
 * span from the token holding "<" of <RANK> through EOS. A token straddling both phases (such
 * as "> <") belongs to the slate span [ours], so the spans never overlap.
 */
export function parseTextCompletion(tokens: readonly number[], tokenizer: TextTokenizer, layout: RolloutLayout): ParsedRollout & { text: string } {
  const eosAt = tokens.findIndex((t) => tokenizer.eosIds.includes(t));
  const content = eosAt < 0 ? tokens : tokens.slice(0, eosAt);
  const pieces = content.map((t) => {
    const piece = tokenizer.pieces[t];
    if (piece === undefined) throw new RangeError(`token id ${t} has no piece (vocabulary size ${tokenizer.pieces.length})`);
    return piece;
  });
  const text = pieces.join("");
  const ends = pieceEnds(pieces);
  const lexemes = lexText(text).map((l) => ({ ...l, ...spanInTokens(ends, l) }));
  if (eosAt >= 0) {
    lexemes.push({ kind: "eos", start: eosAt, end: eosAt + 1 });
    if (eosAt + 1 < tokens.length) lexemes.push({ kind: "other", start: eosAt + 1, end: tokens.length });
  }
  const parsed = parseLexemes(lexemes, layout, tokens.length, true);
  const { slateSpan, rankSpan } = parsed;
  if (slateSpan !== null && rankSpan !== null && rankSpan.start < slateSpan.end) {
    parsed.rankSpan = rankSpan.end > slateSpan.end ? { start: slateSpan.end, end: rankSpan.end } : null;
  }
  return { ...parsed, text };
}

/** A text tokenizer that can also encode (the SFT targets are tokenizations of canonical text). */
export interface EncodingTextTokenizer extends TextTokenizer {
  encode(text: string): number[];
}

/**
 * The text layout of one pool for a pretrained model: rendering is the tokenizer's own
 * encoding of the canonical text plus the first EOS id (what SFT trains on, and a sequence the
 * text automaton accepts); parsing reads sampled ids through their pieces, never re-tokenizing.
 */
export class TextRolloutCodec {
  constructor(
    readonly tokenizer: EncodingTextTokenizer,
    readonly layout: RolloutLayout,
  ) {
    if (tokenizer.eosIds.length === 0) throw new RangeError("the tokenizer needs at least one EOS id");
  }

  render(r: Rollout): number[] {
    return [...this.tokenizer.encode(renderRolloutText(r)), this.tokenizer.eosIds[0]!];
  }

  parse(tokens: readonly number[]): ParsedRollout {
    return parseTextCompletion(tokens, this.tokenizer, this.layout);
  }
}
