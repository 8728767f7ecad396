/**
 * Key/value stores for the decoder's attention. The model hands every layer's new keys and values
 * (after RoPE) to a store and attends to what it returns:
 *
 * - KVCache: preallocated per-layer buffers for decoding, written in place (no autograd).
 * - RecordingKV: keeps a forward's keys/values (with their autograd history) for reuse.
 * - PrefixKV: prepends recorded keys/values (row-selected, differentiably) to a new block, so
 *   G completions attend to one shared prompt forward.
 * - SharedPrefixCache: decoding G rollouts per prompt from one prefilled prompt cache.
 */
import * as T from "../torch/index.js";

export interface KVStore {
  /** Keys/values to attend to, given layer `layer`'s new ones [B, Hkv, T, D]. */
  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor];
  /** Called once after all layers ran on a block of `t` tokens. */
  advance(t: number): void;
  /**
   * Attention [B, H, T, D] of queries q over this store's keys, given what append returned, for
   * stores whose keys are not one tensor per row. Such a store applies its own masks (the model's
   * key mask is not used) and does grouped-query attention itself.
   */
  attend?(layer: number, q: T.Tensor, keys: T.Tensor, values: T.Tensor): T.Tensor;
  /**
   * Present on stores a checkpointed layer can use (activation checkpointing recomputes the
   * layer in backward, so the store's work must be redone from tensors the checkpoint keeps):
   * the keys/values prepended at `layer` (null: none; `rows` selects, per row of the block, its
   * row of them), and whether append records the new ones (then the model appends the
   * checkpoint's outputs). Stores without it are not checkpointed.
   */
  readonly checkpointed?: { past(layer: number): { keys: T.Tensor; values: T.Tensor; rows: T.Tensor } | null; records: boolean };
  /**
   * Tensors made during layer `layer` that the store keeps (the model runs each layer in its own
   * scope, which frees everything else the layer made).
   */
  retained?(layer: number): T.Tensor[];
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
  static allocate(layers: number, batch: number, kvHeads: number, capacity: number, headDim: number, device = "cpu", dtype: T.DType = "float32"): KVCache {
    const buf = () => T.keep(T.zeros([batch, kvHeads, capacity, headDim], { device, dtype }));
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

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

export class RecordingKV implements KVStore {
  readonly keys: T.Tensor[] = [];
  readonly values: T.Tensor[] = [];
  readonly checkpointed = { past: () => null, records: true };

  retained(layer: number): T.Tensor[] {
    return [this.keys[layer]!, this.values[layer]!];
  }

  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    this.keys[layer] = k;
    this.values[layer] = v;
    return [k, v];
  }

  advance(): void {}
}

export class PrefixKV implements KVStore {
  /** Row i of the new block sees row rows[i] of the recorded prefix (an index tensor, int64). */
  constructor(
    private readonly prefix: RecordingKV,
    private readonly rows: T.Tensor,
  ) {}

  // Rows are selected layer by layer: the selected copies (G per prompt) are then transient,
  // never all layers' at once, and a checkpointed layer keeps only the one-per-prompt prefix.
  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    return [T.cat([this.prefix.keys[layer]!.indexSelect(0, this.rows), k], 2), T.cat([this.prefix.values[layer]!.indexSelect(0, this.rows), v], 2)];
  }

  readonly checkpointed = {
    past: (layer: number) => ({ keys: this.prefix.keys[layer]!, values: this.prefix.values[layer]!, rows: this.rows }),
    records: false,
  };

  advance(): void {}
}

/**
 * Decoding G rollouts per prompt from one prefilled prompt cache. The prompts' keys and values
 * stay one row per prompt, and each rollout's generated keys/values go to its own suffix buffers;
 * T.prefixAttention then reads each prompt key once per group instead of once per rollout, and
 * the prompt cache is never copied G times. The prompt keys are kept transposed in memory (the
 * key axis contiguous), the layout the kernel reads without a copy.
 */
export class SharedPrefixCache implements KVStore {
  private constructor(
    private readonly prefixKeys: T.Tensor[],
    private readonly prefixValues: T.Tensor[],
    private readonly prefixMask: T.Tensor | null,
    private readonly suffix: KVCache,
  ) {}

  /**
   * From a prefilled cache of P prompt rows (left-padded: `promptMask` bool [P, length] marks the
   * real tokens, or null when none is padded), for P·G rollouts of at most `suffixCapacity` fed
   * tokens each; rollouts i·G … i·G+G−1 continue prompt i. The prefilled cache stays valid.
   */
  static fromPrefill(prefill: KVCache, group: number, promptMask: T.Tensor | null, suffixCapacity: number): SharedPrefixCache {
    const [p, kvHeads, , headDim] = prefill.keys[0]!.shape as [number, number, number, number];
    const device = prefill.keys[0]!.device;
    const filled = (t: T.Tensor) => t.narrow(2, 0, prefill.length);
    return T.noGrad(() => {
      const keys = prefill.keys.map((k) => T.keep(T.tidy(() => filled(k).transpose(2, 3).contiguous().transpose(2, 3))));
      const values = prefill.values.map((v) => T.keep(filled(v)));
      const suffix = KVCache.allocate(prefill.keys.length, p * group, kvHeads, suffixCapacity, headDim, device, prefill.keys[0]!.dtype);
      return new SharedPrefixCache(keys, values, promptMask ? T.keep(promptMask.clone()) : null, suffix);
    });
  }

  append(layer: number, k: T.Tensor, v: T.Tensor): [T.Tensor, T.Tensor] {
    return this.suffix.append(layer, k, v);
  }

  advance(t: number): void {
    this.suffix.advance(t);
  }

  attend(layer: number, q: T.Tensor, keys: T.Tensor, values: T.Tensor): T.Tensor {
    return T.prefixAttention(q, { keys: this.prefixKeys[layer]!, values: this.prefixValues[layer]!, mask: this.prefixMask }, { keys, values });
  }

  dispose(): void {
    for (const t of [...this.prefixKeys, ...this.prefixValues]) t.dispose();
    this.prefixMask?.dispose();
    this.suffix.dispose();
  }
}
