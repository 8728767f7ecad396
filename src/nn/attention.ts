/**
 * Masks and grouped-query attention for a decoder whose queries may follow cached keys.
 *
 * Padding is described by a key mask [B, Lk] (true = a real token) over every key a query block
 * can see: the cached ones first, then the block's own. Batched prompts of different lengths are
 * left-padded, so all rows of a batch write their next token to the same cache slot.
 */
import * as T from "../torch/index.js";

/**
 * The boolean attention mask [B, 1, Tq, Lk] for a block of Tq queries at the end of Lk keys:
 * key j is visible to query i when it is a real token and not in the future. Each query also
 * always sees itself, so the softmax of a padding query is never over an empty set: an empty set
 * gives NaN, and 0 · NaN in the value product would leak NaN into real rows of later layers.
 * Returns null when no key mask is given (plain causal attention).
 */
export function paddedCausalMask(keyMask: T.Tensor | null, tq: number): T.Tensor | null {
  if (keyMask === null) return null;
  const [b, lk] = keyMask.shape as [number, number];
  const keys = keyMask.view(b, 1, 1, lk);
  if (tq === 1) return keys;
  const offset = lk - tq;
  const causal = T.ones([tq, lk], { dtype: "bool", device: keyMask.device }).tril(offset);
  const self = T.ones([tq, lk], { dtype: "bool", device: keyMask.device }).triu(offset).logicalAnd(causal);
  return keys.logicalAnd(causal).logicalOr(self);
}

/**
 * Scaled dot-product attention with grouped key/value heads, without copying keys per query
 * head: the G query heads that share a key head are folded into the query-length axis
 * ([B, Hkv, G·Tq, D]), and the mask is tiled to match.
 *
 * q: [B, H, Tq, D], k and v: [B, Hkv, Lk, D], mask: [B or 1, 1, Tq, Lk] or null (causal).
 * Returns [B, H, Tq, D].
 */
export function groupedAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, mask: T.Tensor | null): T.Tensor {
  const [b, h, tq, d] = q.shape as [number, number, number, number];
  const hkv = k.size(1);
  const lk = k.size(2);
  const g = h / hkv;
  if (g === 1) return T.attention(q, k, v, mask === null ? { causal: tq > 1 } : { mask });
  const qg = q.reshape(b, hkv, g * tq, d);
  if (mask === null && tq > 1) mask = T.ones([tq, lk], { dtype: "bool", device: q.device }).tril(lk - tq).view(1, 1, tq, lk);
  let m: T.Tensor | null = null;
  if (mask !== null) {
    const mb = mask.size(0);
    m = tq === 1 ? mask.expand(mb, 1, g, lk) : mask.unsqueeze(2).expand(mb, 1, g, tq, lk).reshape(mb, 1, g * tq, lk);
  }
  return T.attention(qg, k, v, m === null ? {} : { mask: m }).reshape(b, h, tq, d);
}
