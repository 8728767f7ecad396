/**
 * The Tokenizer view of a TaskVocab (models trained from scratch): text is whitespace-separated
 * symbols, one token each; unknown symbols become <unk>.
 */
import { TaskVocab } from "../task-vocab.js";
import type { Tokenizer } from "./tokenizer.js";

export class TaskVocabTokenizer implements Tokenizer {
  constructor(readonly vocab: TaskVocab) {}

  get vocabSize(): number {
    return this.vocab.size;
  }
  get bosId(): number {
    return this.vocab.bosId;
  }
  get eosId(): number {
    return this.vocab.eosId;
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const symbols = text.split(/\s+/).filter((s) => s !== "");
    const ids = this.vocab.encode(symbols);
    if (opts.bos) ids.unshift(this.vocab.bosId);
    if (opts.eos) ids.push(this.vocab.eosId);
    return ids;
  }

  /** Symbols joined by single spaces; <pad>, <bos> and <eos> are dropped. */
  decode(ids: readonly number[]): string {
    const skip = new Set([this.vocab.padId, this.vocab.bosId, this.vocab.eosId]);
    return this.vocab.decode(ids.filter((i) => !skip.has(i))).join(" ");
  }

  /** Each symbol (specials as ""), as the grammar automaton sees tokens. */
  tokenStrings(): string[] {
    return this.vocab.symbols.map((s, i) => (i < TaskVocab.specials.length ? "" : s));
  }
}
