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

export class Rope {
  private cos: T.Tensor | null = null;
  private sin: T.Tensor | null = null;
  private capacity = 0;

  constructor(
    readonly headDim: number,
    readonly theta: number,
    readonly interleaved: boolean,
    private readonly maxPositions: number,
  ) {
    if (headDim % 2 !== 0) throw new RangeError(`RoPE needs an even head dimension, got ${headDim}`);
  }

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
        // Frequencies in float32 as the reference implementations compute them.
        const freq = Math.fround(1 / Math.fround(Math.pow(this.theta, (2 * j) / d)));
        const angle = Math.fround(p * freq);
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
   * over heads. Compute once per forward and reuse in every layer.
   */
  tables(positions: T.Tensor, maxPosition: number, device: string): { cos: T.Tensor; sin: T.Tensor } {
    this.ensure(maxPosition + 1);
    if (this.cos!.device !== device) this.moveTo(device);
    return { cos: T.embedding(this.cos!, positions).unsqueeze(1), sin: T.embedding(this.sin!, positions).unsqueeze(1) };
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
