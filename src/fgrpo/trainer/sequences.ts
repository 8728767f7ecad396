/**
 * Packing prompts and completions into right-padded batches for teacher forcing. With right
 * padding and causal attention, padding only follows real tokens, so no attention mask is
 * needed: positions 0…T−1 are correct for every row and the padded tail is never attended to by
 * a real token. The loss and the per-token statistics use `targetMask`.
 */
import * as T from "../../torch/index.js";

export interface PackedBatch {
  /** int64 [B, T]: prompt ++ completion, right-padded with `pad`. */
  input: T.Tensor;
  /** int64 [B, T]: the next token at each position (input shifted left), pad where none. */
  targets: T.Tensor;
  /** float [B, T]: 1 where the target is a completion token (the loss positions). */
  targetMask: T.Tensor;
  /** For each row, the index in [0, T) of its first completion target. */
  completionStart: number[];
}

/** Packs (prompt, completion) pairs; `maxLength` truncates from the left of the prompt if needed. */
export function packSequences(prompts: readonly number[][], completions: readonly number[][], pad: number): PackedBatch {
  const rows = prompts.map((p, i) => [...p, ...completions[i]!]);
  const width = Math.max(...rows.map((r) => r.length)) - 1;
  const b = rows.length;
  const input = new BigInt64Array(b * width).fill(BigInt(pad));
  const targets = new BigInt64Array(b * width).fill(BigInt(pad));
  const mask = new Float32Array(b * width);
  const completionStart: number[] = [];
  rows.forEach((row, i) => {
    for (let t = 0; t < row.length - 1; t++) {
      input[i * width + t] = BigInt(row[t]!);
      targets[i * width + t] = BigInt(row[t + 1]!);
    }
    const start = prompts[i]!.length - 1;
    completionStart.push(start);
    for (let t = start; t < row.length - 1; t++) mask[i * width + t] = 1;
  });
  return {
    input: T.tensor(input, { shape: [b, width] }),
    targets: T.tensor(targets, { shape: [b, width] }),
    targetMask: T.tensor(mask, { shape: [b, width] }),
    completionStart,
  };
}
