/**
 * Left-padded batches of prompts. Prompts of different lengths are right-aligned, so every row
 * writes its next token to the same cache slot; padding is hidden by the key mask, and each
 * token's position counts only the real tokens before it, so a row decodes exactly as it would
 * alone.
 */
import * as T from "../torch/index.js";

export interface PaddedPrompts {
  /** int64 [B, width] token ids, padding first. */
  ids: T.Tensor;
  /** int64 [B, width] positions (0 on padding). */
  positions: T.Tensor;
  /** Real tokens per row. */
  lengths: number[];
  width: number;
  /** Whether any row is padded (when not, attention needs no key mask). */
  padded: boolean;
}

export function checkTokens(seqs: readonly (readonly number[])[], vocabSize: number, what: string, allowEmpty: boolean): void {
  seqs.forEach((s, i) => {
    if (!allowEmpty && s.length === 0) throw new RangeError(`${what} ${i} is empty (start prompts with BOS)`);
    for (const t of s) if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new RangeError(`${what} ${i} has token ${t} outside [0, ${vocabSize})`);
  });
}

export function int64(values: ArrayLike<number>, shape: number[], device: string): T.Tensor {
  return T.tensor(BigInt64Array.from(Array.from(values), (v) => BigInt(v)), { shape, device });
}

export function padLeft(prompts: readonly (readonly number[])[], pad: number, device: string): PaddedPrompts {
  const lengths = prompts.map((p) => p.length);
  const width = Math.max(...lengths);
  const ids = new Array<number>(prompts.length * width).fill(pad);
  const positions = new Array<number>(prompts.length * width).fill(0);
  prompts.forEach((p, r) => {
    const off = r * width + width - p.length;
    p.forEach((t, j) => {
      ids[off + j] = t;
      positions[off + j] = j;
    });
  });
  return {
    ids: int64(ids, [prompts.length, width], device),
    positions: int64(positions, [prompts.length, width], device),
    lengths,
    width,
    padded: lengths.some((l) => l !== width),
  };
}

/**
 * bool [B, width + extra]: true on the real prompt tokens and on the `extra` slots after them
 * (which completions fill), false on left padding.
 */
export function keyMask(lengths: readonly number[], width: number, extra: number, device: string): T.Tensor {
  const total = width + extra;
  const m = new Uint8Array(lengths.length * total);
  lengths.forEach((len, r) => m.fill(1, r * total + width - len, (r + 1) * total));
  return T.tensor(m, { shape: [lengths.length, total], dtype: "bool", device });
}
