/** The tokenizer interface shared by every model family. */
export interface Tokenizer {
  /** Number of ids (the model's vocabulary size must be at least this). */
  readonly vocabSize: number;
  /** The beginning-of-sequence id, or null when the family has none (Qwen). */
  readonly bosId: number | null;
  /** The main end-of-sequence id, or null. */
  readonly eosId: number | null;
  /** Text to ids; `bos` prepends bosId (when there is one), `eos` appends eosId. */
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
  /** Ids to text; special tokens (BOS, EOS, padding) contribute nothing. */
  decode(ids: readonly number[]): string;
  /**
   * Each id's decoded string in context (SentencePiece's "▁" as a space, a byte token as its
   * character when the byte is ASCII, "" for special tokens and for tokens that are only part
   * of a UTF-8 character). The text-grammar automaton of src/fgrpo walks these strings.
   */
  tokenStrings(): string[];
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}

/** The string of a byte sequence if it is valid UTF-8 by itself, else "". */
export function utf8OrEmpty(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "";
  }
}
