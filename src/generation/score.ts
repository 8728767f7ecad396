/**
 * Teacher-forced scoring for the trainer: per-token log-probs and entropies of given completions,
 * differentiable with respect to the model's parameters, under the same temperature and the same
 * constraint masks as sampling (the constraint is replayed along each completion to recover the
 * allowed set of every step), so old, new and reference log-probs agree with the sampler's.
 *
 * The shared-prefix form runs each prompt's forward once and lets its G completions attend to
 * the recorded keys/values (row-selected, so gradients from all G flow back into the one prompt
 * forward); its values and gradients equal the unshared computation.
 *
 * Under a constraint each step's distribution lives on its allowed set, so the output head runs
 * only there (see restrictedHead): tens of rows instead of the whole vocabulary.
 */
import * as T from "../torch/index.js";
import { PrefixKV, RecordingKV } from "../models/kv-cache.js";
import type { LlamaModel } from "../models/llama.js";
import { allowedAlong, allowedUnion, type TokenConstraint } from "./constraint.js";
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
  /**
   * With a constraint, compute logits only for the tokens each completion's steps allow (default
   * true). The values are the same as over the whole vocabulary, where every other token has
   * probability 0; false runs the whole-vocabulary form (slower; kept as the reference).
   */
  restrictToAllowed?: boolean;
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
    const hidden = (opts.sharedPrefix ?? true)
      ? sharedHidden(model, prompts, completions, groupOf, len, pad, device)
      : unsharedHidden(model, prompts, completions, groupOf, len, pad, device);
    let logits: T.Tensor, forbidden: T.Tensor | null, targets: T.Tensor;
    if (opts.constraint && (opts.restrictToAllowed ?? true)) {
      const head = restrictedHead(model, opts.constraint, completions, groupOf, len, device);
      logits = hidden.matmul(head.weights.transpose(1, 2));
      forbidden = head.forbidden;
      targets = head.targets;
    } else {
      logits = model.logits(hidden);
      forbidden = opts.constraint ? forbiddenMask(opts.constraint, completions, groupOf, len, c.vocabSize, device) : null;
      targets = int64(completions.flatMap((x) => Array.from({ length: len }, (_, j) => x[j] ?? pad)), [r, len, 1], device);
    }
    let scaled = temperature === 1 ? logits : logits.div(temperature);
    if (forbidden) scaled = scaled.maskedFill(forbidden, -Infinity);
    const logp = scaled.logSoftmax(-1);
    const present = new Float32Array(r * len);
    completions.forEach((x, i) => present.fill(1, i * len, i * len + x.length));
    const mask = T.tensor(present, { shape: [r, len], device });
    const finiteLogp = forbidden ? logp.maskedFill(forbidden, 0) : logp;
    const entropy = logp.exp().mul(finiteLogp).sum(-1).neg().mul(mask);
    return { logprobs: logp.gather(2, targets).squeeze(2).mul(mask), entropy, mask };
  });
}

/** Final hidden states [R, L, d] predicting each completion token, one full sequence per completion. */
function unsharedHidden(model: LlamaModel, prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, pad: number, device: string): T.Tensor {
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
  const hidden = model.forward(int64(ids, [rows.length, total], device), { positions: int64(positions, [rows.length, total], device), keyMask: mask, hiddenOnly: true });
  return hidden.narrow(1, width - 1, len);
}

/** The same hidden states with each prompt's forward run once and shared by its completions. */
function sharedHidden(model: LlamaModel, prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, pad: number, device: string): T.Tensor {
  // Only the prompts some completion continues run forward: an RL minibatch (num_minibatches > 1)
  // holds a few of the step's groups, and the other prompts' forward and backward were pure cost
  // (4× the prompt work at 4 minibatches, most of a step for long QA prompts). groupOf keeps
  // indexing `prompts` (the constraint's state is per prompt); rows map to the used prompts.
  const used = [...new Set(groupOf)].sort((a, b) => a - b);
  const local = new Map(used.map((g, j) => [g, j]));
  const padded = padLeft(used.map((g) => prompts[g]!), pad, device);
  const recorded = new RecordingKV();
  const first = model.forward(padded.ids, {
    positions: padded.positions,
    keyMask: padded.padded ? keyMask(padded.lengths, padded.width, 0, device) : null,
    cache: recorded,
    lastOnly: true,
    hiddenOnly: true,
  });
  const rowsIndex = int64(groupOf.map((g) => local.get(g)!), [groupOf.length], device);
  const firstHidden = first.indexSelect(0, rowsIndex);
  if (len === 1) return firstHidden;
  const r = completions.length;
  const ids = completions.flatMap((x) => Array.from({ length: len - 1 }, (_, j) => x[j] ?? pad));
  const promptLens = groupOf.map((g) => prompts[g]!.length);
  const positions = promptLens.flatMap((l) => Array.from({ length: len - 1 }, (_, j) => l + j));
  const mask = keyMask(promptLens, padded.width, len - 1, device);
  const rest = model.forward(int64(ids, [r, len - 1], device), {
    positions: int64(positions, [r, len - 1], device),
    keyMask: mask,
    cache: new PrefixKV(recorded, rowsIndex),
    hiddenOnly: true,
  });
  return T.cat([firstHidden, rest], 1);
}

/** bool [R, L, V]: true where the constraint forbids the token at that step (padding steps: nothing). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each constraint has its own state type
function forbiddenMask(constraint: TokenConstraint<any>, completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, vocab: number, device: string): T.Tensor {
  const m = new Uint8Array(completions.length * len * vocab);
  completions.forEach((x, i) => {
    allowedAlong(constraint, constraint.initial(groupOf[i]), x).forEach((allowed, j) => {
      const row = m.subarray((i * len + j) * vocab, (i * len + j + 1) * vocab);
      row.fill(1);
      for (const a of allowed) row[a] = 0;
    });
  });
  return T.tensor(m, { shape: [completions.length, len, vocab], dtype: "bool", device });
}

/**
 * The output head restricted to each completion's allowed tokens. Completion i's K columns are
 * the union U_i of the allowed sets along it (the constraint replayed; K is the largest union,
 * shorter ones padded with their first token). At step j, column k is allowed when U_i[k] is in
 * that step's allowed set and k is not padding, so a padded duplicate never counts twice; steps
 * past the completion's end allow all of U_i (their values are masked out, but a row of −∞ only
 * would give NaN). The log-softmax over the allowed columns equals the whole-vocabulary one
 * with forbidden tokens at −∞, and so do its gradients: forbidden logits get none either way.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each constraint has its own state type
function restrictedHead(model: LlamaModel, constraint: TokenConstraint<any>, completions: readonly (readonly number[])[], groupOf: readonly number[], len: number, device: string) {
  const vocab = model.config.vocabSize;
  const steps = completions.map((x, i) => allowedAlong(constraint, constraint.initial(groupOf[i]), x));
  const unions = steps.map((rowSteps) => {
    const u = allowedUnion(rowSteps, vocab);
    return u.columns.length > 0 ? u : allowedUnion([Int32Array.of(0)], vocab);
  });
  const k = Math.max(...unions.map((u) => u.columns.length));
  const r = completions.length;
  const tokens = new Array<number>(r * k);
  const allowed = new Uint8Array(r * len * k);
  const targets = new Array<number>(r * len).fill(0);
  unions.forEach(({ columns: union, columnOf }, i) => {
    for (let c = 0; c < k; c++) tokens[i * k + c] = union[c] ?? union[0]!;
    for (let j = 0; j < len; j++) {
      const row = allowed.subarray((i * len + j) * k, (i * len + j + 1) * k);
      const step = steps[i]![j];
      if (step === undefined) {
        row.fill(1, 0, union.length);
        continue;
      }
      for (const t of step) row[columnOf[t]!] = 1;
      targets[i * len + j] = columnOf[completions[i]![j]!]!;
    }
  });
  const d = model.config.hiddenSize;
  const weights = model.headWeight.indexSelect(0, int64(tokens, [r * k], device)).view(r, k, d);
  const allowedMask = T.tensor(allowed, { shape: [r, len, k], dtype: "bool", device });
  return { weights, forbidden: allowedMask.logicalNot(), targets: int64(targets, [r, len, 1], device) };
}
