import { InputError } from "../util/errors.js";

/**
 * The vocabulary of a model trained from scratch on a task: every symbol (a tag such as
 * "<SLATE>", a pool id such as "[3]", an item such as "item:1234", a word) is one token.
 * Ids 0–3 are always the specials below; the rest follow the order given at construction.
 */
export class TaskVocab {
  static readonly PAD = "<pad>";
  static readonly BOS = "<bos>";
  static readonly EOS = "<eos>";
  static readonly UNK = "<unk>";
  static readonly specials = [TaskVocab.PAD, TaskVocab.BOS, TaskVocab.EOS, TaskVocab.UNK] as const;

  readonly symbols: readonly string[];
  private readonly index: Map<string, number>;

  constructor(symbols: Iterable<string>) {
    const all: string[] = [...TaskVocab.specials];
    const index = new Map<string, number>(all.map((s, i) => [s, i]));
    for (const s of symbols) {
      if (index.has(s)) continue;
      index.set(s, all.length);
      all.push(s);
    }
    this.symbols = all;
    this.index = index;
  }

  get size(): number {
    return this.symbols.length;
  }
  get padId(): number {
    return 0;
  }
  get bosId(): number {
    return 1;
  }
  get eosId(): number {
    return 2;
  }
  get unkId(): number {
    return 3;
  }

  has(symbol: string): boolean {
    return this.index.has(symbol);
  }

  /** The id of a symbol; unknown symbols map to <unk> unless `strict`, where they throw. */
  id(symbol: string, strict = false): number {
    const id = this.index.get(symbol);
    if (id !== undefined) return id;
    if (strict) throw new Error(`TaskVocab: unknown symbol "${symbol}"`);
    return this.unkId;
  }

  symbol(id: number): string {
    const s = this.symbols[id];
    if (s === undefined) throw new RangeError(`TaskVocab: id ${id} out of range [0, ${this.size})`);
    return s;
  }

  encode(symbols: readonly string[], strict = false): number[] {
    return symbols.map((s) => this.id(s, strict));
  }

  decode(ids: readonly number[]): string[] {
    return ids.map((i) => this.symbol(i));
  }

  toJSON(): { type: "fgrpo-task-vocab"; symbols: string[] } {
    return { type: "fgrpo-task-vocab", symbols: this.symbols.slice(TaskVocab.specials.length) };
  }

  static fromJSON(value: unknown, file = "<vocab>"): TaskVocab {
    const v = value as { type?: unknown; symbols?: unknown };
    if (v?.type !== "fgrpo-task-vocab" || !Array.isArray(v.symbols) || !v.symbols.every((s) => typeof s === "string")) {
      throw new InputError('expected {"type":"fgrpo-task-vocab","symbols":[strings]}', { file });
    }
    return new TaskVocab(v.symbols as string[]);
  }
}
