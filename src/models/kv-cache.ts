/**
 * Key/value stores for the decoder's attention. The model hands every layer's new keys and values
 * (after RoPE) to a store and attends to what it returns:
 *
 * - KVCache: preallocated per-layer buffers for decoding, written in place (no autograd).
 * - RecordingKV: keeps a forward's keys/values (with their autograd history) for reuse.
 * - PrefixKV: prepends recorded keys/values (row-selected, differentiably) to a new block, so
 *   G completions attend to one shared prompt forward.
 */
import * as T from "../torch/index.js";

export interface KVStore {
  /** Keys/values to attend to, given layer `layer`'s new ones [B, Hkv, T, D]. */
  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor];
  /** Called once after all layers ran on a block of `t` tokens. */
  advance(t: number): void;
}

export class KVCache implements KVStore {
  /** Filled slots (the same for every row: prompts are left-padded). */
  length = 0;

  private constructor(
    readonly keys: T.Tensor[],
    readonly values: T.Tensor[],
    readonly capacity: number,
  ) {}

  /** Buffers [batch, kvHeads, capacity, headDim] per layer, zero-filled. */
  static allocate(layers: number, batch: number, kvHeads: number, capacity: number, headDim: number, device = "cpu"): KVCache {
    const buf = () => T.keep(T.zeros([batch, kvHeads, capacity, headDim], { device }));
    return new KVCache(
      Array.from({ length: layers }, buf),
      Array.from({ length: layers }, buf),
      capacity,
    );
  }

  get batch(): number {
    return this.keys[0]!.size(0);
  }

  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    const t = k.size(2);
    if (this.length + t > this.capacity) throw new RangeError(`KVCache: ${this.length + t} tokens exceed its capacity ${this.capacity}`);
    const kb = this.keys[layer]!;
    const vb = this.values[layer]!;
    kb.narrow(2, this.length, t).copy_(k);
    vb.narrow(2, this.length, t).copy_(v);
    return [kb.narrow(2, 0, this.length + t), vb.narrow(2, 0, this.length + t)];
  }

  advance(t: number): void {
    this.length += t;
  }

  /**
   * A new cache whose row i is this cache's row rows[i] (e.g. each prompt's prefix repeated for
   * its G rollouts). This cache stays valid.
   */
  selectRows(rows: readonly number[]): KVCache {
    const index = T.tensor(BigInt64Array.from(rows, (r) => BigInt(r)), { device: this.keys[0]!.device });
    const pick = (t: T.Tensor) => T.keep(T.noGrad(() => t.indexSelect(0, index)));
    const out = new KVCache(this.keys.map(pick), this.values.map(pick), this.capacity);
    index.dispose();
    out.length = this.length;
    return out;
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

export class RecordingKV implements KVStore {
  readonly keys: T.Tensor[] = [];
  readonly values: T.Tensor[] = [];

  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    this.keys[layer] = k;
    this.values[layer] = v;
    return [k, v];
  }

  advance(): void {}
}

export class PrefixKV implements KVStore {
  private readonly keys: T.Tensor[];
  private readonly values: T.Tensor[];

  /** Row i of the new block sees row rows[i] of the recorded prefix (an index tensor, int64). */
  constructor(prefix: RecordingKV, rows: T.Tensor) {
    this.keys = prefix.keys.map((k) => k.indexSelect(0, rows));
    this.values = prefix.values.map((v) => v.indexSelect(0, rows));
  }

  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    return [T.cat([this.keys[layer]!, k], 2), T.cat([this.values[layer]!, v], 2)];
  }

  advance(): void {}
}
