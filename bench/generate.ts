/**
 * `npm run bench -- generate [--runs=N] [--threads=I,B] [--only=decode|prefix|paths]`: rollout throughput of the generation
 * engine on a Llama model with the reference dims of ARCHITECTURE.md (vocab 512, 4 layers,
 * d 256, 4 heads, SwiGLU 704, tied head), random weights, sampling at temperature 1 with no stop
 * token so every rollout runs its full length.
 *
 * 1. 128 new tokens from position 0 (prompt = BOS) at batch 1 and 8, against PyTorch 2.13's plain
 *    KV-cache loop on this machine (ARCHITECTURE.md: 413 and 2420 tokens/s).
 * 2. G = 8 rollouts of 32 tokens after a 512-token prompt, with and without the shared prefix
 *    (target: the shared prefix ≥ 3× faster), run alternately; the speed-up is the median of
 *    the pairs' ratios.
 *
 * 3. `--only=paths`: batch-1 and batch-8 decoding on each kernel path this CPU supports and on
 *    "libtorch" (no fused kernel), the paths alternating run by run in this one process (T.setIsa);
 *    each line gives a path's speed relative to the one in use at start (median of the runs'
 *    ratios, and their range).
 *
 * Each line is the median of several runs (the machine is shared, timings are noisy).
 */
import * as T from "../src/torch/index.js";
import { LlamaModel, presets } from "../src/models/index.js";
import { generate, type GenerateOptions } from "../src/generation/index.js";

const PYTORCH_TOKENS_PER_S: Record<number, number> = { 1: 413, 8: 2420 };

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function tokensPerSecond(model: LlamaModel, prompts: number[][], opts: GenerateOptions, runs: number): number {
  generate(model, prompts, opts); // warm-up
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = generate(model, prompts, { ...opts, seed: i });
    rates.push(r.stats.tokens / (r.stats.ms / 1000));
  }
  return median(rates);
}

export function run(args: string[]): void {
  const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice(7) ?? 7);
  const threads = args.find((a) => a.startsWith("--threads="))?.slice(10).split(",").map(Number);
  const only = args.find((a) => a.startsWith("--only="))?.slice(7);
  // One libtorch thread and one BLAS thread: decode-step GEMMs are skinny and the two pools
  // fight over 2 cores otherwise (measured: 8×256×1408 takes 137 µs at 1+1 vs 190 µs at 1+2).
  const [intra, blas] = threads ?? [1, 1];
  T.setNumThreads(intra!, blas);
  T.manualSeed(0);
  const model = LlamaModel.init(presets.tiny(512));
  const common = { temperature: 1, stopTokens: [] as number[] };
  if (only === "paths") {
    comparePaths(model, runs);
    model.dispose();
    return;
  }
  for (const batch of only === "prefix" ? [] : [1, 8]) {
    const prompts = Array.from({ length: batch }, () => [1]);
    const rate = tokensPerSecond(model, prompts, { ...common, maxNewTokens: 128 }, runs);
    console.log(JSON.stringify({
      bench: "generate", isa: T.buildInfo().isa, model: "llama-ref-d256-l4-h4", batch, prompt_len: 1, new_tokens: 128, shared_prefix: false,
      intra_op_threads: intra, blas_threads: blas, tokens_per_s: Math.round(rate), ratio_to_pytorch: round(rate / PYTORCH_TOKENS_PER_S[batch]!),
    }));
  }
  if (only === "decode") {
    model.dispose();
    return;
  }
  const prompt = [1, ...Array.from({ length: 511 }, (_, i) => 3 + ((i * 37) % 500))];
  // The two forms run alternately and the speed-up is the median of each pair's ratio, so a
  // slow spell of the shared machine weighs on both sides of a ratio instead of on one form.
  const pairs = { false: [] as number[], true: [] as number[], ratio: [] as number[] };
  const rollouts = (shared: boolean, seed: number) => {
    const r = generate(model, [prompt], { ...common, maxNewTokens: 32, numGenerations: 8, sharedPrefix: shared, seed });
    return r.stats.tokens / (r.stats.ms / 1000);
  };
  rollouts(false, 0); // warm-up
  rollouts(true, 0);
  for (let i = 0; i < runs; i++) {
    const unshared = rollouts(false, i), shared = rollouts(true, i);
    pairs.false.push(unshared);
    pairs.true.push(shared);
    pairs.ratio.push(shared / unshared);
  }
  for (const shared of [false, true]) {
    console.log(JSON.stringify({
      bench: "generate", isa: T.buildInfo().isa, model: "llama-ref-d256-l4-h4", batch: 8, prompt_len: 512, new_tokens: 32, shared_prefix: shared,
      intra_op_threads: intra, blas_threads: blas, tokens_per_s: Math.round(median(pairs[String(shared) as "false" | "true"])),
      ...(shared ? { speedup_vs_unshared: round(median(pairs.ratio)) } : {}),
    }));
  }
  model.dispose();
}

function comparePaths(model: LlamaModel, runs: number): void {
  const start = T.buildInfo().isa;
  const paths = T.buildInfo().isas;
  for (const batch of [1, 8]) {
    const prompts = Array.from({ length: batch }, () => [1]);
    const opts = { temperature: 1, stopTokens: [] as number[], maxNewTokens: 128 };
    const rates: Record<string, number[]> = {};
    for (const isa of paths) {
      T.setIsa(isa);
      generate(model, prompts, opts); // warm-up
    }
    for (let i = 0; i < runs; i++) {
      for (const isa of paths) {
        T.setIsa(isa);
        const r = generate(model, prompts, { ...opts, seed: i });
        (rates[isa] ??= []).push(r.stats.tokens / (r.stats.ms / 1000));
      }
    }
    T.setIsa(start);
    for (const isa of paths) {
      const ratios = rates[isa]!.map((x, i) => x / rates[start]![i]!);
      console.log(JSON.stringify({
        bench: "generate-paths", isa, model: "llama-ref-d256-l4-h4", batch, new_tokens: 128, tokens_per_s: Math.round(median(rates[isa]!)),
        [`ratio_to_${start}`]: round(median(ratios)), ratio_range: [round(Math.min(...ratios)), round(Math.max(...ratios))], runs,
      }));
    }
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
