/**
 * Teacher-forced scoring for the trainer: per-token log-probs and entropies of given completions,
 * differentiable with respect to the model's parameters, under the same temperature and the same
 * constraint masks as sampling (the constraint is replayed along each completion to recover the
 * allowed set of every step), so old, new and reference log-probs agree with the sampler's.
 *
 * The shared-prefix form runs each prompt's forward once and lets its G completions attend to
 * the recorded keys/values (row-selected, so gradients from all G flow back into the one prompt
 * forward); its values and gradients equal the unshared computation.
 */
import * as T from "../torch/index.js";
import { PrefixKV, RecordingKV } from "../models/kv-cache.js";
import type { LlamaModel } from "../models/llama.js";
import type { TokenConstraint } from "./constraint.js";
import { checkTokens, int64, keyMask, padLeft } from "./batch.js";

export interface ScoreOptions {
  /** groupOf[i] = the prompt completion i continues; default i (one completion per prompt). */
  groupOf?: readonly number[];
  /** Replayed along each completion; disallowed tokens are masked before the softmax. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each constraint has its own state type
  constraint?: TokenConstraint<any>;
  /** Logits are divided by it, as in sampling; default 1. */
  temperature?: number;
  /** Run each prompt once for its whole group (default true). */
  sharedPrefix?: boolean;
  /** Id used to pad batches (its value never matters); default config.padTokenId ?? 0. */
  padToken?: number;
}

export interface ScoreResult {
  /** [R, L] log π(token) of each completion token (0 where mask is 0). Differentiable. */
  logprobs: T.Tensor;
  /** [R, L] entropy of each step's (masked, temperature-scaled) distribution (0 where mask is 0). */
  entropy: T.Tensor;
  /** [R, L] float 1 where a completion token exists. */
  mask: T.Tensor;
}

export function scoreCompletions(model: LlamaModel, prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], opts: ScoreOptions = {}): ScoreResult {
  const c = model.config;
  const groupOf = opts.groupOf ?? completions.map((_, i) => i);
  if (groupOf.length !== completions.length) throw new RangeError(`groupOf has ${groupOf.length} entries for ${completions.length} completions`);
  groupOf.forEach((g, i) => {
    if (!Number.isInteger(g) || g < 0 || g >= prompts.length) throw new RangeError(`groupOf[${i}] = ${g} is not a prompt index in [0, ${prompts.length})`);
  });
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  checkTokens(prompts, c.vocabSize, "prompt", false);
  checkTokens(completions, c.vocabSize, "completion", true);
  const device = model.device;
  const pad = opts.padToken ?? c.padTokenId ?? 0;
  const r = completions.length;
  const len = Math.max(1, ...completions.map((x) => x.length));
  return T.tidy(() => {
    const logits = (opts.sharedPrefix ?? true)
      ? sharedLogits(model, prompts, completions, groupOf, len, pad, device)
      : unsharedLogits(model, prompts, completions, groupOf, len, pad, device);
    let scaled = temperature === 1 ? logits : logits.div(temperature);
    const forbidden = opts.constraint ? forbiddenMask(opts.constraint, completions, groupOf, len, c.vocabSize, device) : null;
    if (forbidden) scaled = scaled.maskedFill(forbidden, -Infinity);
    const logp = scaled.logSoftmax(-1);
    const targets = int64(completions.flatMap((x) => Array.from({ length: len }, (_, j) => x[j] ?? pad)), [r, len, 1], device);
    const present = new Float32Array(r * len);
    completions.forEach((x, i) => present.fill(1, i * len, i * len + x.length));
    const mask = T.tensor(present, { shape: [r, len], device });
    const finiteLogp = forbidden ? logp.maskedFill(forbidden, 0) : logp;
    const entropy = logp.exp().mul(finiteLogp).sum(-1).neg().mul(mask);
    return { logprobs: logp.gather(2, targets).squeeze(2).mul(mask), entropy, mask };
  });
}

/** Logits [R, L, V] predicting each completion token, one full sequence per completion. */
function unsharedLogits(model: LlamaModel, prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, pad: number, device: string): T.Tensor {
  const rows = completions.map((x, i) => [...prompts[groupOf[i]!]!, ...x.slice(0, len - 1)]);
  const promptLens = groupOf.map((g) => prompts[g]!.length);
  const width = Math.max(...promptLens);
  // Prompts right-aligned at `width`, completions left-aligned after them, padded on the right.
  const ids = new Array<number>(rows.length * (width + len - 1)).fill(pad);
  const positions = new Array<number>(ids.length).fill(0);
  const total = width + len - 1;
  rows.forEach((row, i) => {
    const off = i * total + width - promptLens[i]!;
    row.forEach((t, j) => {
      ids[off + j] = t;
      positions[off + j] = j;
    });
    for (let j = row.length; j < promptLens[i]! + len - 1; j++) positions[off + j] = j;
  });
  const mask = keyMask(promptLens, width, len - 1, device);
  const logits = model.forward(int64(ids, [rows.length, total], device), { positions: int64(positions, [rows.length, total], device), keyMask: mask });
  return logits.narrow(1, width - 1, len);
}

/** The same logits with each prompt's forward run once and shared by its completions. */
function sharedLogits(model: LlamaModel, prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, pad: number, device: string): T.Tensor {
  const padded = padLeft(prompts, pad, device);
  const recorded = new RecordingKV();
  const first = model.forward(padded.ids, {
    positions: padded.positions,
    keyMask: padded.padded ? keyMask(padded.lengths, padded.width, 0, device) : null,
    cache: recorded,
    lastOnly: true,
  });
  const rowsIndex = int64(groupOf, [groupOf.length], device);
  const firstLogits = first.indexSelect(0, rowsIndex);
  if (len === 1) return firstLogits;
  const r = completions.length;
  const ids = completions.flatMap((x) => Array.from({ length: len - 1 }, (_, j) => x[j] ?? pad));
  const promptLens = groupOf.map((g) => prompts[g]!.length);
  const positions = promptLens.flatMap((l) => Array.from({ length: len - 1 }, (_, j) => l + j));
  const mask = keyMask(promptLens, padded.width, len - 1, device);
  const rest = model.forward(int64(ids, [r, len - 1], device), {
    positions: int64(positions, [r, len - 1], device),
    keyMask: mask,
    cache: new PrefixKV(recorded, rowsIndex),
  });
  return T.cat([firstLogits, rest], 1);
}

/** bool [R, L, V]: true where the constraint forbids the token at that step (padding steps: nothing). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each constraint has its own state type
function forbiddenMask(constraint: TokenConstraint<any>, completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, vocab: number, device: string): T.Tensor {
  const m = new Uint8Array(completions.length * len * vocab);
  completions.forEach((x, i) => {
    let state = constraint.initial(groupOf[i]);
    x.forEach((token, j) => {
      const row = m.subarray((i * len + j) * vocab, (i * len + j + 1) * vocab);
      row.fill(1);
      for (const a of constraint.allowedTokens(state)) row[a] = 0;
      state = constraint.advance(state, token);
    });
  });
  return T.tensor(m, { shape: [completions.length, len, vocab], dtype: "bool", device });
}
