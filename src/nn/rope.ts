/**
 * Rotary position embeddings. Both conventions are one formula,
 *
 *     rope(x) = x · cos + x[perm] · sinSigned
 *
 * with per-position tables over the full head width: rotate-half (HF) pairs x_i with x_{i+D/2},
 * so perm shifts by D/2 and the first half of sinSigned is negated; interleaved (llama2.c, Meta)
 * pairs x_{2j} with x_{2j+1}, so perm swaps neighbours and the even entries are negated. One
 * fused op (T.rope) per application, whatever the convention.
 */
import * as T from "../torch/index.js";

/**
 * How a checkpoint rescales RoPE's frequencies for long contexts (HF `rope_type`): `linear`
 * divides every frequency by `factor`; `llama3` (Llama 3.1+) divides the low frequencies by
 * `factor`, keeps the high ones, and interpolates between (transformers' _compute_llama3_parameters).
 * Neither scales the attention (transformers' attention_factor is 1 for both).
 */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

/**
 * The D/2 inverse frequencies θ^(−2j/D), rescaled as `scaling` says, each step rounded to
 * float32 in the order transformers computes them (its inv_freq is a float32 tensor).
 */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling | null = null): Float32Array {
  const f = Math.fround;
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let j = 0; j < half; j++) inv[j] = f(1 / f(Math.pow(theta, f((2 * j) / headDim))));
  if (scaling?.type === "linear") {
    for (let j = 0; j < half; j++) inv[j] = f(inv[j]! / scaling.factor);
  } else if (scaling?.type === "llama3") {
    const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: old } = scaling;
    const lowFreqWavelen = old / low, highFreqWavelen = old / high;
    for (let j = 0; j < half; j++) {
      const wavelen = f((2 * Math.PI) / inv[j]!);
      if (wavelen > lowFreqWavelen) inv[j] = f(inv[j]! / factor);
      else if (wavelen >= highFreqWavelen) {
        const smooth = f(f(f(old / wavelen) - low) / (high - low));
        inv[j] = f(f(f(f(1 - smooth) * inv[j]!) / factor) + f(smooth * inv[j]!));
      }
    }
  }
  return inv;
}

export class Rope {
  private cos: T.Tensor | null = null;
  private sin: T.Tensor | null = null;
  private capacity = 0;

  constructor(
    readonly headDim: number,
    readonly theta: number,
    readonly interleaved: boolean,
    private readonly maxPositions: number,
    readonly scaling: RopeScaling | null = null,
  ) {
    if (headDim % 2 !== 0) throw new RangeError(`RoPE needs an even head dimension, got ${headDim}`);
    this.invFreq = ropeInverseFrequencies(headDim, theta, scaling);
  }

  private readonly invFreq: Float32Array;

  /** Tables covering positions [0, n); grown on demand so huge max_position_embeddings cost nothing up front. */
  private ensure(n: number): void {
    if (n <= this.capacity) return;
    if (n > this.maxPositions) throw new RangeError(`position ${n - 1} exceeds max_position_embeddings ${this.maxPositions}`);
    const cap = Math.min(this.maxPositions, Math.max(n, 2 * this.capacity, 256));
    const d = this.headDim;
    const half = d / 2;
    const cos = new Float32Array(cap * d);
    const sin = new Float32Array(cap * d);
    for (let p = 0; p < cap; p++) {
      for (let j = 0; j < half; j++) {
        // Angles in float32 as the reference implementations compute them.
        const angle = Math.fround(p * this.invFreq[j]!);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const [a, b] = this.interleaved ? [2 * j, 2 * j + 1] : [j, j + half];
        cos[p * d + a] = c;
        cos[p * d + b] = c;
        sin[p * d + a] = -s;
        sin[p * d + b] = s;
      }
    }
    this.cos?.dispose();
    this.sin?.dispose();
    this.cos = T.keep(T.tensor(cos, { shape: [cap, d] }));
    this.sin = T.keep(T.tensor(sin, { shape: [cap, d] }));
    this.capacity = cap;
  }

  /**
   * The cos and signed-sin tables for int64 positions [B, T], shaped [B, 1, T, D] to broadcast
   * over heads, in `dtype`. Compute once per forward and reuse in every layer.
   */
  tables(positions: T.Tensor, maxPosition: number, device: string, dtype: T.DType = "float32"): { cos: T.Tensor; sin: T.Tensor } {
    this.ensure(maxPosition + 1);
    if (this.cos!.device !== device) this.moveTo(device);
    const cos = T.embedding(this.cos!, positions).unsqueeze(1);
    const sin = T.embedding(this.sin!, positions).unsqueeze(1);
    // Computed in float32, then cast to the activations' dtype as transformers does.
    return dtype === "float32" ? { cos, sin } : { cos: cos.to(dtype), sin: sin.to(dtype) };
  }

  /** Rotates x [B, H, T, D] with tables from `tables()`. */
  apply(x: T.Tensor, t: { cos: T.Tensor; sin: T.Tensor }): T.Tensor {
    return T.rope(x, t.cos, t.sin, { interleaved: this.interleaved });
  }

  private moveTo(device: string): void {
    const old = [this.cos!, this.sin!];
    this.cos = T.keep(old[0]!.toDevice(device));
    this.sin = T.keep(old[1]!.toDevice(device));
    for (const t of old) t.dispose();
  }

  dispose(): void {
    this.cos?.dispose();
    this.sin?.dispose();
  }
}
