/**
 * llama2.c's tokenizer.bin: a SentencePiece BPE vocabulary with scores and byte fallback,
 *
 *   int32 max_token_length, then per token: float32 score, int32 length, bytes (UTF-8)
 *
 * with "▁" already written as a space, ids 0–2 = <unk>, <s>, </s>, and 256 byte tokens
 * "<0x00>"…"<0xFF>" at ids 3–258. Encoding follows llama2.c's run.c (and so SentencePiece):
 * a leading-space dummy prefix, one token per code point (its UTF-8 bytes as byte tokens when
 * the code point is not in the vocabulary), then repeatedly merge the adjacent pair whose
 * concatenation is the vocabulary entry with the highest score, leftmost first on ties.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../../util/errors.js";
import { utf8, type Tokenizer } from "./tokenizer.js";

const BYTE_TOKEN = /^<0x([0-9A-F]{2})>$/;

export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  private readonly index = new Map<string, number>();
  /** Byte value of each byte token, -1 for other tokens. */
  private readonly byteOf: Int16Array;
  private readonly byteTokenOf = new Int32Array(256).fill(-1);
  private readonly pieceBytes: Uint8Array[];

  constructor(
    readonly pieces: readonly string[],
    readonly scores: Float32Array,
    readonly maxTokenLength: number,
  ) {
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    const enc = new TextEncoder();
    this.pieceBytes = pieces.map((p) => enc.encode(p));
    pieces.forEach((p, id) => {
      if (!this.index.has(p)) this.index.set(p, id);
      const m = BYTE_TOKEN.exec(p);
      if (m) {
        const b = parseInt(m[1]!, 16);
        this.byteOf[id] = b;
        if (this.byteTokenOf[b] === -1) this.byteTokenOf[b] = id;
      }
    });
  }

  /** Reads tokenizer.bin; `vocabSize`, when known from the model, must match the file. */
  static load(file: string, vocabSize?: number): Llama2cTokenizer {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (e) {
      throw new InputError(`cannot read tokenizer: ${(e as Error).message}`, { file });
    }
    if (buf.byteLength < 4) throw new InputError("not a llama2.c tokenizer.bin: shorter than its 4-byte header", { file });
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const maxLen = view.getInt32(0, true);
    const pieces: string[] = [];
    const scores: number[] = [];
    let off = 4;
    while (off < buf.byteLength) {
      if (off + 8 > buf.byteLength) throw new InputError(`truncated entry for token ${pieces.length} at byte ${off}`, { file });
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      if (len < 0 || off + 8 + len > buf.byteLength) throw new InputError(`token ${pieces.length} has length ${len} past the end of the file (byte ${off})`, { file });
      pieces.push(utf8(buf.subarray(off + 8, off + 8 + len)));
      scores.push(score);
      off += 8 + len;
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize) throw new InputError(`tokenizer has ${pieces.length} tokens, the model's vocabulary has ${vocabSize}`, { file });
    if (pieces.length < 259) throw new InputError(`tokenizer has ${pieces.length} tokens; a byte-fallback vocabulary needs the 3 specials and 256 byte tokens`, { file });
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxLen);
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** The tokenizer.bin bytes (the inverse of load). */
  toBytes(): Uint8Array {
    const enc = new TextEncoder();
    const size = 4 + this.pieceBytes.reduce((n, b) => n + 8 + b.byteLength, 0);
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setInt32(0, this.maxTokenLength, true);
    let off = 4;
    this.pieces.forEach((p, i) => {
      const b = enc.encode(p);
      view.setFloat32(off, this.scores[i]!, true);
      view.setInt32(off + 4, b.byteLength, true);
      out.set(b, off + 8);
      off += 8 + b.byteLength;
    });
    return out;
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const tokens: number[] = [];
    if (text !== "") {
      // SentencePiece's dummy prefix: "Once" and " Once" become the same word token.
      const space = this.index.get(" ");
      if (space !== undefined) tokens.push(space);
      for (const ch of text) {
        const id = this.index.get(ch);
        if (id !== undefined) {
          tokens.push(id);
          continue;
        }
        for (const b of new TextEncoder().encode(ch)) {
          const bt = this.byteTokenOf[b]!;
          if (bt < 0) throw new RangeError(`tokenizer has no byte token for 0x${b.toString(16)}`);
          tokens.push(bt);
        }
      }
    }
    const merged = this.merge(tokens);
    if (opts.bos) merged.unshift(this.bosId);
    if (opts.eos) merged.push(this.eosId);
    return merged;
  }

  /**
   * BPE merges with a heap over adjacent pairs, keyed by (score desc, position asc): the same
   * merge order as llama2.c's quadratic rescan, since the leftmost pair in the current list is
   * the one whose left symbol started earliest in the input.
   */
  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    if (n < 2) return tokens;
    const id = Int32Array.from(tokens);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    const heap = new PairHeap();
    const push = (i: number) => {
      const j = next[i]!;
      if (j < 0) return;
      const m = this.index.get(this.pieces[id[i]!]! + this.pieces[id[j]!]!);
      if (m !== undefined) heap.push({ score: this.scores[m]!, left: i, leftId: id[i]!, rightId: id[j]!, merged: m });
    };
    for (let i = 0; i < n - 1; i++) push(i);
    for (let top = heap.pop(); top; top = heap.pop()) {
      const i = top.left;
      const j = next[i]!;
      // Skip entries made stale by an earlier merge of either symbol.
      if (!alive[i] || j < 0 || id[i] !== top.leftId || id[j] !== top.rightId) continue;
      id[i] = top.merged;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (prev[i]! >= 0) push(prev[i]!);
      push(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(id[i]!);
    return out;
  }

  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const t of ids) {
      if (t === this.bosId || t === this.eosId) continue;
      const b = this.byteOf[t];
      if (b === undefined) throw new RangeError(`token id ${t} out of range [0, ${this.vocabSize})`);
      if (b >= 0) bytes.push(b);
      else for (const x of this.pieceBytes[t]!) bytes.push(x);
    }
    const text = utf8(Uint8Array.from(bytes));
    // SentencePiece drops the dummy prefix at the start of a sequence.
    return text.startsWith(" ") ? text.slice(1) : text;
  }

  tokenStrings(): string[] {
    return this.pieces.map((p, id) => {
      if (id === this.bosId || id === this.eosId || id === 0) return "";
      const b = this.byteOf[id]!;
      if (b >= 0) return b < 0x80 ? String.fromCharCode(b) : "";
      return p;
    });
  }
}

interface PairEntry {
  score: number;
  left: number;
  leftId: number;
  rightId: number;
  merged: number;
}

/** A binary max-heap on (score, −left). */
class PairHeap {
  private readonly items: PairEntry[] = [];

  private before(a: PairEntry, b: PairEntry): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(e: PairEntry): void {
    const h = this.items;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): PairEntry | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
