/**
 * One decoding step's choice of tokens: every live rollout draws its next token (in row order,
 * one uniform each from the shared Rng), and its constraint state, stop status and log-probs
 * are updated. Finished rollouts are fed the pad token.
 */
import * as T from "../torch/index.js";
import type { Rng } from "../util/random.js";
import type { GenerateOptions } from "./generate.js";
import { maskToAllowed, sampleRow, type Sampled } from "./sampling.js";
import { int64 } from "./batch.js";
import { allowedUnion } from "./constraint.js";

export interface Rollout {
  prompt: readonly number[];
  tokens: number[];
  logprobs: number[];
  state: unknown;
  done: boolean;
  finished: boolean;
}

export interface StepContext {
  rollouts: Rollout[];
  opts: GenerateOptions;
  stop: Set<number>;
  rng: Rng;
  /** Per-row generators (GenerateOptions.promptSeeds); rows without one draw from `rng`. */
  rowRngs?: readonly Rng[];
  pad: number;
  vocab: number;
}

/** Picks every live rollout's next token from its whole-vocabulary logits row; returns the ids to feed next. */
export function sampleStep(rows: Float32Array, ctx: StepContext): number[] {
  const { rollouts, opts } = ctx;
  const width = rows.length / rollouts.length;
  return rollouts.map((r, i) => {
    if (r.done) return ctx.pad;
    const row = rows.subarray(i * width, i * width + ctx.vocab);
    for (const p of opts.logitsProcessors ?? []) p(row, { sequence: i, prompt: r.prompt, tokens: r.tokens });
    if (opts.constraint) maskToAllowed(row, opts.constraint.allowedTokens(r.state));
    return record(r, sampleRow(row, opts, opts.greedy ? 0 : (ctx.rowRngs?.[i] ?? ctx.rng).next()), ctx);
  });
}

/**
 * The same choice under a constraint, from final hidden states [B, 1, d] and the head [d, V]:
 * the head runs only on the union of the live rollouts' allowed tokens, and each rollout samples
 * from its own allowed logits, in id order. Forbidden tokens have probability 0 in the masked
 * row, so the draw and its log-prob are those of sampleStep (up to the product's rounding).
 */
export function sampleAllowedStep(hidden: T.Tensor, head: T.Tensor, ctx: StepContext): number[] {
  const { rollouts, opts } = ctx;
  const constraint = opts.constraint!;
  const allowed = rollouts.map((r) => (r.done ? null : constraint.allowedTokens(r.state)));
  const { columns: union, columnOf: column } = allowedUnion(allowed, ctx.vocab);
  const width = union.length;
  const values = width === 0
    ? new Float32Array(0)
    : T.tidy(() => hidden.reshape(rollouts.length, -1).matmul(head.indexSelect(1, int64(union, [width], head.device))).toFloat32Array());
  return rollouts.map((r, i) => {
    const a = allowed[i];
    if (a === null) return ctx.pad;
    const row = new Float32Array(a.length);
    for (let j = 0; j < a.length; j++) row[j] = values[i * width + column[a[j]!]!]!;
    const s = sampleRow(row, opts, opts.greedy ? 0 : (ctx.rowRngs?.[i] ?? ctx.rng).next());
    return record(r, { token: a[s.token]!, logprob: s.logprob }, ctx);
  });
}

/** Appends a drawn token to its rollout and advances its state; returns the token. */
function record(r: Rollout, s: Sampled, ctx: StepContext): number {
  const constraint = ctx.opts.constraint;
  r.tokens.push(s.token);
  r.logprobs.push(s.logprob);
  if (constraint) r.state = constraint.advance(r.state, s.token);
  if (ctx.stop.has(s.token) || (constraint && constraint.isComplete(r.state))) {
    r.done = true;
    r.finished = true;
  }
  return s.token;
}
