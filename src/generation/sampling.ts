/**
 * Choosing the next token from one row of logits, in JavaScript: rows are small (a few hundred
 * to a few hundred thousand floats), copying them out once per step costs less than a dozen
 * tensor ops, and it keeps sampling reproducible from our own seeded Rng without touching the
 * engine's global generator (which the trainer's dropout and init depend on).
 */
import { InputError } from "../util/errors.js";

export interface SamplingOptions {
  /** Take the most likely token (ties: the lowest id). */
  greedy?: boolean;
  /** Logits are divided by it before the softmax; default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or absent: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or absent: all). */
  topP?: number;
}

export interface Sampled {
  token: number;
  /**
   * log-probability of the token under the distribution it was drawn from: the masked logits
   * divided by the temperature, then (when top-k/top-p are set) truncated and renormalised. For
   * greedy decoding, under the masked, temperature-scaled softmax (the point mass would say 0).
   */
  logprob: number;
}

/** Checks option values once, before decoding starts. */
export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`temperature must be a positive number, got ${t}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new RangeError(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${o.topP}`);
}

/**
 * Samples from one row of (already masked: −Infinity = forbidden) logits with a uniform draw u
 * in [0, 1). Throws when every token is forbidden.
 */
export function sampleRow(logits: Float32Array, o: SamplingOptions, u: number): Sampled {
  const invT = 1 / (o.temperature ?? 1);
  const n = logits.length;
  let max = -Infinity;
  let argmax = -1;
  for (let i = 0; i < n; i++) {
    if (logits[i]! > max) {
      max = logits[i]!;
      argmax = i;
    }
  }
  if (argmax < 0) {
    // NaN logits compare false everywhere: the weights are not finite (a run diverged, e.g. under
    // too large a learning rate, or a checkpoint holds NaN) — the user's to fix, so one clear line.
    if (logits.some((x) => Number.isNaN(x))) throw new InputError("the model's outputs are NaN: its weights are not finite (a diverged run, e.g. too large a learning rate, or a checkpoint holding NaN/inf values)");
    throw new Error("sampling: every token is masked");
  }
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp((logits[i]! - max) * invT);
  const logZ = Math.log(z);
  const logp = (i: number) => (logits[i]! - max) * invT - logZ;
  if (o.greedy) return { token: argmax, logprob: logp(argmax) };
  const k = o.topK ?? 0;
  const p = o.topP ?? 1;
  if ((k <= 0 || k >= n) && p >= 1) {
    // Inverse CDF over the full distribution in id order.
    let target = u * z;
    let last = argmax;
    for (let i = 0; i < n; i++) {
      const w = Math.exp((logits[i]! - max) * invT);
      if (w === 0) continue;
      last = i;
      target -= w;
      if (target < 0) return { token: i, logprob: logp(i) };
    }
    return { token: last, logprob: logp(last) };
  }
  // Truncated: the candidates in order of decreasing probability (ties by id).
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (logits[i]! > -Infinity) order.push(i);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  let keep = k > 0 ? Math.min(k, order.length) : order.length;
  if (p < 1) {
    let mass = 0;
    for (let j = 0; j < keep; j++) {
      mass += Math.exp(logp(order[j]!));
      if (mass >= p) {
        keep = j + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let j = 0; j < keep; j++) kept += Math.exp(logp(order[j]!));
  let target = u * kept;
  let chosen = order[keep - 1]!;
  for (let j = 0; j < keep; j++) {
    target -= Math.exp(logp(order[j]!));
    if (target < 0) {
      chosen = order[j]!;
      break;
    }
  }
  return { token: chosen, logprob: logp(chosen) - Math.log(kept) };
}

/** Forbids every token not in `allowed` (ascending ids), in place. */
export function maskToAllowed(row: Float32Array, allowed: Int32Array): void {
  let j = 0;
  for (let i = 0; i < row.length; i++) {
    if (j < allowed.length && allowed[j] === i) j++;
    else row[i] = -Infinity;
  }
}
