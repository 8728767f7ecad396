/**
 * `npm run bench -- llm-step [--prompts=1] [--generations=4] [--prompt-tokens=384]
 * [--new-tokens=32] [--lora-r=16] [--beta=0.04] [--steps=1] [--modes=lora+ckpt,lora]`:
 * one RL-like step of a model with Qwen3-0.6B's shapes (hidden 1024, 28 layers, 16 heads, 8
 * kv heads, head_dim 128, SwiGLU 3072, vocabulary 151,936, tied embeddings, q/k norm) and random
 * weights, float32 on the CPU: sample G rollouts per prompt, score them with gradients (shared
 * prompt forward), a GRPO loss with a k3 KL term against the base model (adapters off), backward
 * into the LoRA adapters, AdamW. Random prompt tokens; every rollout runs to --new-tokens.
 *
 * Each mode runs in its own process so its peak RSS is its own. Prints one JSON line per mode:
 * peak RSS (of the process, and of the generation and the training phases, from Linux's VmHWM
 * reset between phases), the step time split (generation, reference scoring, policy scoring, backward,
 * optimizer; the last measured step), and token counts.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as T from "../src/torch/index.js";
import { LlamaModel } from "../src/models/llama.js";
import { presets, type LlamaConfig } from "../src/models/config.js";
import { generate } from "../src/generation/generate.js";
import { scoreCompletions } from "../src/generation/score.js";
import { grpoLoss } from "../src/fgrpo/objectives.js";
import { LORA_TARGETS } from "../src/nn/lora.js";

/** Qwen3-0.6B's config.json dimensions. */
export function qwen3_0_6b(): LlamaConfig {
  return presets.tiny(151936, {
    modelType: "qwen3", qkNorm: true, hiddenSize: 1024, intermediateSize: 3072, numLayers: 28, numHeads: 16, numKvHeads: 8,
    headDim: 128, rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxPositionEmbeddings: 40960, tieWordEmbeddings: true,
    bosTokenId: null, eosTokenIds: [151645], padTokenId: 151643,
  });
}

type Mode = "lora+ckpt" | "lora" | "full+ckpt";

function arg(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

const gib = (kb: number) => Math.round((kb / 1024 / 1024) * 100) / 100;

/**
 * Linux's resident high-water mark (VmHWM, kB) since the last resetPeak(); writing 5 to
 * /proc/self/clear_refs resets it to the current RSS, so each phase gets its own peak.
 */
function peakKb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : NaN;
}
let processPeakKb = 0;
function resetPeak(): void {
  // Resetting also resets getrusage's maxrss, so the process-wide peak is kept here.
  processPeakKb = Math.max(processPeakKb, peakKb());
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // Not Linux, or not allowed: the peaks are then process-wide.
  }
}

function runMode(args: string[], mode: Mode): void {
  const prompts = Number(arg(args, "prompts", "1"));
  const g = Number(arg(args, "generations", "4"));
  const promptTokens = Number(arg(args, "prompt-tokens", "384"));
  const newTokens = Number(arg(args, "new-tokens", "32"));
  const r = Number(arg(args, "lora-r", "16"));
  const beta = Number(arg(args, "beta", "0.04"));
  const steps = Number(arg(args, "steps", "1"));
  const config = qwen3_0_6b();
  T.manualSeed(0);
  const tInit = performance.now();
  const model = LlamaModel.init(config);
  if (mode !== "full+ckpt") model.addLora({ r, alpha: 2 * r, dropout: 0.05, targetModules: [...LORA_TARGETS] });
  model.gradientCheckpointing = mode !== "lora";
  const params = model.trainableParameters();
  const opt = new T.AdamW(params, { lr: 1e-5 });
  const msInit = performance.now() - tInit;
  let trainable = 0;
  for (const p of params.values()) trainable += p.numel;
  let record: Record<string, unknown> = {};
  for (let step = 0; step < steps; step++) {
    const promptIds = Array.from({ length: prompts }, () => Array.from(T.randint(0, 150000, [promptTokens]).toArray()));
    resetPeak();
    const t0 = performance.now();
    const gen = T.noGrad(() => generate(model, promptIds, { maxNewTokens: newTokens, numGenerations: g, temperature: 1, stopTokens: [], seed: 100 + step }));
    const t1 = performance.now();
    const peakGeneration = peakKb();
    resetPeak();
    const rows = prompts * g;
    const groupOf = Array.from({ length: rows }, (_, i) => Math.floor(i / g));
    // Stand-in rewards, group-normalised as GRPO does (the reward itself is not what is measured).
    const rewards = Array.from({ length: rows }, () => Math.random());
    const adv = rewards.map((x, i) => {
      const grp = rewards.slice(groupOf[i]! * g, groupOf[i]! * g + g);
      return x - grp.reduce((a, b) => a + b, 0) / g;
    });
    let t2 = t1, t3 = t1, t4 = t1;
    const loss = T.tidy(() => {
      const ref = beta > 0 ? T.noGrad(() => model.withoutAdapters(() => scoreCompletions(model, promptIds, gen.completions, { groupOf }).logprobs)) : null;
      t2 = performance.now();
      const scored = scoreCompletions(model, promptIds, gen.completions, { groupOf });
      const out = grpoLoss(
        { logprobs: scored.logprobs, oldLogprobs: scored.logprobs.detach(), refLogprobs: ref, completionMask: scored.mask, adv: T.tensor(Float32Array.from(adv)) },
        { epsilon: 0.2, epsilonHigh: 0.2, beta, lossType: "grpo", maxCompletionLength: newTokens },
      );
      t3 = performance.now();
      out.loss.backward();
      t4 = performance.now();
      return out.loss.item();
    });
    opt.update();
    opt.zeroGrad();
    const t5 = performance.now();
    const peakTraining = peakKb();
    const tokens = gen.completions.reduce((s, c) => s + c.length, 0);
    record = {
      bench: "llm-step", mode, model: "qwen3-0.6b shapes (random weights, float32)", parameters_trainable: trainable,
      prompts, generations: g, prompt_tokens: promptTokens, completion_tokens: tokens, lora_r: mode === "full+ckpt" ? null : r, beta,
      gradient_checkpointing: model.gradientCheckpointing, step,
      ms_generation: Math.round(t1 - t0), ms_reference: Math.round(t2 - t1), ms_scoring: Math.round(t3 - t2), ms_backward: Math.round(t4 - t3),
      ms_optimizer: Math.round(t5 - t4), ms_step: Math.round(t5 - t0), ms_init: Math.round(msInit),
      loss, peak_rss_gib: gib(Math.max(processPeakKb, peakKb())),
      peak_rss_generation_gib: gib(peakGeneration), peak_rss_scoring_backward_optimizer_gib: gib(peakTraining), rss_after_gib: Math.round((process.memoryUsage().rss / 2 ** 30) * 100) / 100,
      threads: T.getNumThreads(), blas_threads: T.getBlasThreads(),
    };
  }
  console.log(JSON.stringify(record));
  opt.dispose();
  model.dispose();
}

export function run(args: string[]): void {
  const mode = args.find((a) => a.startsWith("--mode="))?.slice(7) as Mode | undefined;
  if (mode) return runMode(args, mode);
  const modes = arg(args, "modes", "lora+ckpt,lora").split(",");
  for (const m of modes) {
    // A fresh process per mode: peak RSS is a high-water mark of the whole process.
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--mode=${m}`, ...args], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`llm-step --mode=${m} failed (${r.status ?? r.signal})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) run(process.argv.slice(2));
