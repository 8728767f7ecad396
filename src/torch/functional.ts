/** Operations that take several tensors, and neural-network functions. */
import { native } from "./native.js";
import { Tensor, type Operand } from "./tensor.js";

const hs = (ts: Tensor[]) => ts.map((t) => t.handle);
const ho = (o: Operand) => (typeof o === "number" ? o : o.handle);

export function cat(ts: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(hs(ts), dim));
}
export function stack(ts: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(hs(ts), dim));
}
/** Elementwise cond ? a : b. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  return new Tensor(native.where(cond.handle, ho(a), ho(b)));
}
/** x·wᵀ + b, with w of shape [out, in]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  return new Tensor(native.linear(x.handle, w.handle, b?.handle));
}
/** Rows of weight selected by integer ids (any shape). */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  return new Tensor(native.embedding(weight.handle, ids.handle));
}
export function dropout(x: Tensor, p: number, train: boolean): Tensor {
  return new Tensor(native.dropout(x.handle, p, train));
}
export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.layerNorm(x.handle, normalizedShape, weight?.handle, bias?.handle, eps));
}
/** x / sqrt(mean(x², last dim) + eps) · weight (Llama's RMSNorm; half inputs computed in float32). */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.rmsNorm(x.handle, weight?.handle, eps));
}
/** Cross-entropy of logits [N, C] against class ids [N]; targets equal to ignoreIndex are skipped. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { ignoreIndex?: number; reduction?: "mean" | "sum" | "none" } = {}): Tensor {
  return new Tensor(native.crossEntropy(logits.handle, targets.handle, opts.ignoreIndex ?? -100, opts.reduction ?? "mean"));
}
/**
 * Rotary position embedding of x [B, H, T, D]: x·cos + x[p]·sin, where the tables broadcast to
 * x and carry the sign of the sine, and p pairs i with i ± D/2 (rotate-half, HF) or with i ^ 1
 * (interleaved, llama2.c). One fused node for float32/float64 on the CPU; the tables get no
 * gradient.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, opts: { interleaved?: boolean } = {}): Tensor {
  return new Tensor(native.rope(x.handle, cos.handle, sin.handle, opts.interleaved ?? false));
}

/**
 * silu(gate)·up, the product of a SwiGLU MLP: one fused node for float32 on the CPU (same
 * shapes), the composition otherwise.
 */
export function siluMul(gate: Tensor, up: Tensor): Tensor {
  return new Tensor(native.siluMul(gate.handle, up.handle));
}

/**
 * Scaled dot-product attention over [B, H, T, D] tensors. `mask` is boolean (true = attend) or
 * additive, broadcastable to [B, H, Tq, Tk]; `causal` applies the lower-triangular mask aligned
 * to the end of the keys (so a query block can follow a cached prefix) when no mask is given.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: { mask?: Tensor | null; causal?: boolean; scale?: number } = {}): Tensor {
  return new Tensor(native.attention(q.handle, k.handle, v.handle, opts.mask?.handle, opts.causal ?? false, opts.scale));
}

/**
 * Attention for G rollouts decoding after one shared prompt: q [B, H, Tq, D] with B = P·G, rows
 * b·G … b·G+G−1 belonging to prompt b. Each row sees its prompt's keys/values `prefix` [P, Hkv,
 * Lp, D] (where `prefixMask` [P, Lp], boolean, is true) and then its own `suffix` keys/values
 * [B, Hkv, Ls, D], whose last Tq entries are the queries' own (causal there). Query head h reads
 * key head h / (H / Hkv) (grouped-query attention). Equals attention over each row's
 * concatenated keys; without autograd on the CPU one kernel reads each prompt key once per group.
 */
export function prefixAttention(
  q: Tensor,
  prefix: { keys: Tensor; values: Tensor; mask?: Tensor | null },
  suffix: { keys: Tensor; values: Tensor },
  opts: { scale?: number } = {},
): Tensor {
  return new Tensor(native.prefixAttention(q.handle, prefix.keys.handle, prefix.values.handle, prefix.mask?.handle, suffix.keys.handle, suffix.values.handle, opts.scale));
}
