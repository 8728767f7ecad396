/**
 * The batched generation engine: left-padded prompts, one prefill, then one decode step per
 * token for every rollout at once over a preallocated KV cache. With numGenerations G > 1 each
 * prompt is prefilled once and its G rollouts decode from that one cache (the shared prompt
 * prefix: SharedPrefixCache), which is what makes G = 8 rollouts of long prompts cheap.
 */
import * as T from "../torch/index.js";
import { Rng } from "../util/random.js";
import { KVCache, SharedPrefixCache } from "../models/kv-cache.js";
import type { LlamaModel } from "../models/llama.js";
import type { TokenConstraint } from "./constraint.js";
import type { LogitsProcessor } from "./processors.js";
import { validateSampling, type SamplingOptions } from "./sampling.js";
import { checkTokens, int64, keyMask, padLeft } from "./batch.js";
import { sampleAllowedStep, sampleStep, type Rollout, type StepContext } from "./step.js";

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most per rollout. */
  maxNewTokens: number;
  /** Rollouts per prompt (G); default 1. */
  numGenerations?: number;
  /** A rollout ends after emitting one of these (the token is kept); default the model's EOS ids. */
  stopTokens?: readonly number[];
  /** Masks every token the automaton does not allow; a rollout also ends when it is complete. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each constraint has its own state type
  constraint?: TokenConstraint<any>;
  /** Run in order on each row's raw logits before the constraint and the temperature. */
  logitsProcessors?: readonly LogitsProcessor[];
  /** Seeds the sampler (our own Rng; the engine's global generator is untouched). Default 0. */
  seed?: number;
  /**
   * One seed per prompt, instead of `seed`: each prompt's rollouts draw from that prompt's own
   * Rng, so what a prompt samples does not depend on which other prompts share its batch (a
   * server batching independent requests answers each as if it ran alone; data-parallel ranks,
   * each with its share of a step's prompts, draw what one process would).
   */
  seeds?: readonly number[];
  /** Fed to finished rollouts and used for prompt padding; default config.padTokenId ?? 0. */
  padToken?: number;
  /** Prefill each prompt once and decode its G rollouts from that one cache (default true). */
  sharedPrefix?: boolean;
  /**
   * With a constraint and no logits processors, compute each step's logits only for the tokens
   * some live rollout may emit (default true): the same distribution, since every other token is
   * masked, for a fraction of the output head. false computes whole-vocabulary rows.
   */
  restrictToAllowed?: boolean;
}

export interface GenerateResult {
  /** prompts × G completions, grouped by prompt (prompt i → rows i·G … i·G+G−1), stop token included. */
  completions: number[][];
  /** Per completion token, its log-prob under the distribution it was sampled from (see Sampled). */
  logprobs: number[][];
  /** Whether each rollout stopped (stop token or complete constraint) before maxNewTokens ran out. */
  finished: boolean[];
  stats: { tokens: number; promptTokens: number; ms: number; prefillMs: number };
}

export function generate(model: LlamaModel, prompts: readonly (readonly number[])[], opts: GenerateOptions): GenerateResult {
  const c = model.config;
  const g = opts.numGenerations ?? 1;
  if (!Number.isInteger(g) || g < 1) throw new RangeError(`numGenerations must be a positive integer, got ${g}`);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new RangeError(`maxNewTokens must be a non-negative integer, got ${opts.maxNewTokens}`);
  if (prompts.length === 0) throw new RangeError("generate: no prompts");
  validateSampling(opts);
  checkTokens(prompts, c.vocabSize, "prompt", false);
  const t0 = performance.now();
  const device = model.device;
  const pad = opts.padToken ?? c.padTokenId ?? 0;
  const stop = new Set(opts.stopTokens ?? c.eosTokenIds);
  if (opts.seeds !== undefined && opts.seeds.length !== prompts.length) throw new RangeError(`seeds: ${opts.seeds.length} seeds for ${prompts.length} prompts`);
  const shared = opts.sharedPrefix ?? true;
  // Under restriction the forward stops at the final norm and the head runs on the allowed columns.
  const restrict = opts.constraint !== undefined && (opts.logitsProcessors?.length ?? 0) === 0 && (opts.restrictToAllowed ?? true);
  const rollouts: Rollout[] = [];
  prompts.forEach((p, i) => {
    for (let j = 0; j < g; j++) rollouts.push({ prompt: p, tokens: [], logprobs: [], state: opts.constraint?.initial(i), done: false, finished: false });
  });
  const rowsOfPrompt = rollouts.map((_, r) => Math.floor(r / g));
  // Every row draws from the one shared stream, in row order, unless prompts bring their own seeds.
  const sharedRng = new Rng(opts.seed ?? 0);
  const ownRngs = opts.seeds?.map((s) => new Rng(s));
  const rngs = rowsOfPrompt.map((p) => ownRngs?.[p] ?? sharedRng);
  const prefillPrompts = shared ? prompts : rollouts.map((r) => r.prompt);
  const batch = rollouts.length;
  const width = Math.max(...prompts.map((p) => p.length));
  const capacity = width + Math.max(opts.maxNewTokens - 1, 0);
  let prefillMs = 0;

  T.noGrad(() => {
    if (opts.maxNewTokens === 0) return;
    const padded = T.tidy(() => padLeft(prefillPrompts, pad, device));
    const lengths = rollouts.map((r) => r.prompt.length);
    const groups = shared && g > 1;
    // Unshared rows mask their prompt padding in one [B, capacity] key mask; shared ones keep the
    // prompts' mask [P, width] in their cache (see SharedPrefixCache).
    const mask = padded.padded && !groups ? T.keep(keyMask(lengths, width, capacity - width, device)) : null;
    const fused = model.inferenceWeights();
    const prefill = KVCache.allocate(c.numLayers, prefillPrompts.length, c.numKvHeads, groups ? width : capacity, c.headDim, device, model.headWeight.dtype);
    let cache: KVCache | SharedPrefixCache = prefill;
    const prefillMask = padded.padded ? T.keep(keyMask(padded.lengths, width, 0, device)) : null;
    try {
      // The last position's logits, or its final hidden state when the head runs restricted.
      let last = T.keep(
        T.tidy(() => {
          const out = model.forward(padded.ids, { positions: padded.positions, keyMask: prefillMask, cache: prefill, lastOnly: true, fused, hiddenOnly: restrict });
          return groups ? out.indexSelect(0, int64(rowsOfPrompt, [batch], device)) : out;
        }),
      );
      for (const t of [padded.ids, padded.positions]) t.dispose();
      if (groups) {
        cache = SharedPrefixCache.fromPrefill(prefill, g, prefillMask, opts.maxNewTokens - 1);
        prefill.dispose();
      }
      prefillMs = performance.now() - t0;
      const ctx: StepContext = { rollouts, opts, stop, rngs, pad, vocab: c.vocabSize };
      for (let step = 0; step < opts.maxNewTokens; step++) {
        let next: number[];
        try {
          next = restrict ? sampleAllowedStep(last, fused.head, ctx) : sampleStep(last.toFloat32Array(), ctx);
        } finally {
          last.dispose();
        }
        if (step === opts.maxNewTokens - 1 || rollouts.every((r) => r.done)) break;
        const store = cache;
        last = T.keep(
          T.tidy(() => {
            const ids = int64(next, [batch, 1], device);
            const positions = int64(lengths.map((l) => l + step), [batch, 1], device);
            const m = mask ? mask.narrow(1, 0, width + step + 1) : null;
            return model.forward(ids, { positions, keyMask: m, cache: store, lastOnly: true, fused, hiddenOnly: restrict });
          }),
        );
      }
    } finally {
      fused.dispose();
      cache.dispose();
      mask?.dispose();
      prefillMask?.dispose();
    }
  });
  return {
    completions: rollouts.map((r) => r.tokens),
    logprobs: rollouts.map((r) => r.logprobs),
    finished: rollouts.map((r) => r.finished),
    stats: {
      tokens: rollouts.reduce((n, r) => n + r.tokens.length, 0),
      promptTokens: prefillPrompts.reduce((n, p) => n + p.length, 0),
      ms: performance.now() - t0,
      prefillMs,
    },
  };
}
