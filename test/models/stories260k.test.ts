import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { loadCheckpoint, loadLlama2c, saveHfCheckpoint, Llama2cTokenizer } from "../../src/models/index.js";
import { ROOT, STORIES, STORIES_BIN, STORIES_TOK } from "./helpers.js";

interface Golden {
  config: Record<string, number>;
  bos: number;
  greedy_token_ids: number[];
  greedy_text: string;
  first_step_logits_head: number[];
  first_step_logits_argmax: number;
}
const golden = JSON.parse(readFileSync(join(STORIES, "golden-greedy.json"), "utf8")) as Golden;
const cli = join(ROOT, "dist", "src", "cli", "main.js");

test("fgrpo generate --greedy reproduces the golden stories260K continuation exactly", () => {
  const r = spawnSync(process.execPath, [cli, "generate", "--checkpoint", STORIES_BIN, "--tokenizer", STORIES_TOK, "--greedy", "--max-new-tokens", "199", "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { token_ids: number[]; text: string };
  // The golden ids start with the BOS prompt; the CLI prints the continuation.
  assert.deepEqual(out.token_ids, golden.greedy_token_ids.slice(1));
  assert.equal(out.text, golden.greedy_text);
});

test("stories260K header is read as the documented config; first-step logits match the golden within 1e-4", () => {
  const model = loadLlama2c(STORIES_BIN);
  const c = model.config;
  assert.deepEqual(
    [c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.vocabSize, c.maxPositionEmbeddings, c.tieWordEmbeddings],
    [golden.config.dim, golden.config.hidden_dim, golden.config.n_layers, golden.config.n_heads, golden.config.n_kv_heads, golden.config.vocab_size, golden.config.max_seq_len, golden.config.shared_classifier === 1],
  );
  const logits = T.tidy(() => T.noGrad(() => model.forward(T.tensor([[golden.bos]], { dtype: "int64" })).toFloat32Array()));
  golden.first_step_logits_head.forEach((g, i) => assert.ok(Math.abs(logits[i]! - g) < 1e-4, `logit ${i}: ${logits[i]} vs ${g}`));
  assert.equal(logits.indexOf(Math.max(...logits)), golden.first_step_logits_argmax);
  model.dispose();
});

test("saving stories260K in HF layout (interleaved RoPE converted to rotate-half) keeps its logits", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-hf-"));
  try {
    const model = loadLlama2c(STORIES_BIN);
    saveHfCheckpoint(dir, model, Llama2cTokenizer.load(STORIES_TOK, 512));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(config.model_type, "llama");
    assert.equal(config.fgrpo_rope_interleaved, undefined, "saved checkpoints use the standard HF convention");
    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.format, "hf");
    assert.ok(loaded.tokenizer, "the tokenizer is saved beside the weights");
    assert.deepEqual(loaded.tokenizer.encode("Once upon a time", { bos: true }), golden.greedy_token_ids.slice(0, 5));
    const ids = T.tensor([golden.greedy_token_ids.slice(0, 40)], { dtype: "int64" });
    const diff = T.tidy(() => T.noGrad(() => model.forward(ids).sub(loaded.model.forward(ids)).abs().max().item()));
    assert.ok(diff < 1e-4, `max logit difference ${diff} (logits up to ~10; the two RoPE conventions round differently)`);
    model.dispose();
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad checkpoints give errors naming the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-bad-"));
  try {
    const bytes = readFileSync(STORIES_BIN);
    const truncated = join(dir, "truncated.bin");
    writeFileSync(truncated, bytes.subarray(0, bytes.byteLength - 100));
    assert.throws(() => loadLlama2c(truncated), /truncated\.bin: checkpoint is 1040284 bytes, its header implies 1040384/);
    const wrongMagic = join(dir, "magic.bin");
    writeFileSync(wrongMagic, Buffer.alloc(300));
    assert.throws(() => loadLlama2c(wrongMagic), /magic\.bin: not a llama2\.c version-1 checkpoint/);
    assert.throws(() => loadCheckpoint(join(dir, "missing")), /missing: checkpoint not found/);
    assert.throws(() => loadCheckpoint(dir), /not a checkpoint folder: no config\.json/);
    const r = spawnSync(process.execPath, [cli, "generate", "--checkpoint", truncated, "--max-new-tokens", "3"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /truncated\.bin: checkpoint is/);
    const usage = spawnSync(process.execPath, [cli, "generate", "--checkpoint", STORIES_BIN], { encoding: "utf8" });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--max-new-tokens is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
