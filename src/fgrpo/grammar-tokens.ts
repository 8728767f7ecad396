/**
 * The rollout layout in a task vocabulary (models trained from scratch): every tag and every
 * pool id is one token, and the completion ends with <eos>.
 *
 *     <SLATE> [4] [11] [2] </SLATE> <RANK> [11] [4] </RANK> <eos>
 */
import { TaskVocab } from "../models/task-vocab.js";
import { idSymbol, parseIdSymbol, TAGS, validateLayout, type Rollout, type RolloutLayout } from "./layout.js";
import { parseLexemes, type Lexeme, type ParsedRollout } from "./parse-core.js";

/** The layout's symbols, in the order a vocabulary for it should hold them. */
export function rolloutSymbols(layout: RolloutLayout): string[] {
  const ids = Array.from({ length: layout.poolSize }, (_, i) => idSymbol(i + 1));
  return [TAGS.openSlate, TAGS.closeSlate, TAGS.openRank, TAGS.closeRank, ...ids];
}

/** Token ids of the layout's symbols in one vocabulary. */
export class VocabRolloutCodec {
  readonly openSlate: number;
  readonly closeSlate: number;
  readonly openRank: number;
  readonly closeRank: number;
  readonly eos: number;
  /** idTokens[p - 1] = the token of pool position p. */
  readonly idTokens: Int32Array;

  /** Pool position of each id token. */
  private readonly positionOfToken: Map<number, number>;

  /**
   * Throws when the vocabulary lacks a symbol of the layout (build it with `rolloutSymbols`).
   * `idTokens` (optional) names the token of each pool position when it is not "[p]": a
   * from-scratch model can write the candidates' own item tokens, one codec per pool.
   */
  constructor(
    readonly vocab: TaskVocab,
    readonly layout: RolloutLayout,
    idTokens?: Int32Array,
  ) {
    validateLayout(layout);
    const need = (s: string): number => {
      if (!vocab.has(s)) throw new RangeError(`the vocabulary has no "${s}" (layout poolSize ${layout.poolSize}); add rolloutSymbols(layout)`);
      return vocab.id(s);
    };
    this.openSlate = need(TAGS.openSlate);
    this.closeSlate = need(TAGS.closeSlate);
    this.openRank = need(TAGS.openRank);
    this.closeRank = need(TAGS.closeRank);
    this.eos = vocab.eosId;
    this.idTokens = idTokens ?? Int32Array.from({ length: layout.poolSize }, (_, i) => need(idSymbol(i + 1)));
    if (this.idTokens.length !== layout.poolSize) throw new RangeError(`${this.idTokens.length} id tokens for a pool of ${layout.poolSize}`);
    this.positionOfToken = new Map(Array.from(this.idTokens, (t, i) => [t, i + 1]));
    const tags = [this.openSlate, this.closeSlate, this.openRank, this.closeRank, this.eos];
    if (this.positionOfToken.size !== layout.poolSize || tags.some((t) => this.positionOfToken.has(t))) {
      throw new RangeError("id tokens must be distinct and differ from the tags");
    }
  }

  /** The completion tokens of a rollout, ending with <eos>. Positions must be in the pool. */
  render(r: Rollout): number[] {
    const id = (p: number): number => {
      const t = this.idTokens[p - 1];
      if (!Number.isInteger(p) || t === undefined) throw new RangeError(`pool position ${p} is outside 1..${this.layout.poolSize}`);
      return t;
    };
    return [this.openSlate, ...r.slate.map(id), this.closeSlate, this.openRank, ...r.ranking.map(id), this.closeRank, this.eos];
  }

  /**
   * Parses completion tokens (up to and including <eos>; nothing after it, no padding). Spans are
   * token ranges. Id symbols beyond the pool (such as "[25]" with N = 20) read as out_of_pool;
   * any other token is wrong_format.
   */
  parse(tokens: readonly number[]): ParsedRollout {
    const lexemes = tokens.map((t, i): Lexeme => this.lexeme(t, i));
    return parseLexemes(lexemes, this.layout, tokens.length, true);
  }

  private lexeme(token: number, at: number): Lexeme {
    const span = { start: at, end: at + 1 };
    if (token === this.eos) return { kind: "eos", ...span };
    if (token === this.openSlate) return { kind: "open_slate", ...span };
    if (token === this.closeSlate) return { kind: "close_slate", ...span };
    if (token === this.openRank) return { kind: "open_rank", ...span };
    if (token === this.closeRank) return { kind: "close_rank", ...span };
    const own = this.positionOfToken.get(token);
    if (own !== undefined) return { kind: "id", id: own, ...span };
    // "[p]" beyond the pool (such as "[25]" with N = 20) reads as out_of_pool.
    const symbol = token >= 0 && token < this.vocab.size ? this.vocab.symbol(token) : undefined;
    const position = symbol === undefined ? undefined : parseIdSymbol(symbol);
    return position === undefined || position <= this.layout.poolSize ? { kind: "other", ...span } : { kind: "id", id: position, ...span };
  }
}
