import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { HfTokenizer, KVCache, LlamaModel, SharedPrefixCache, loadCheckpoint, presets, saveHfCheckpoint, type LlamaConfig } from "../../src/models/index.js";
import { byteLevelTokenizerJson } from "./helpers.js";

const VARIANTS: [string, Partial<LlamaConfig>][] = [
  ["llama GQA tied", {}],
  ["llama interleaved RoPE untied", { ropeInterleaved: true, tieWordEmbeddings: false }],
  ["qwen2 (q/k/v bias)", { modelType: "qwen2", attentionBias: true, ropeTheta: 1e6 }],
  ["qwen3 (QK-norm, head_dim ≠ d/heads)", { modelType: "qwen3", qkNorm: true, headDim: 16 }],
];

function maxDiff(a: T.Tensor, b: T.Tensor): number {
  return a.sub(b).abs().max().item();
}

for (const [name, overrides] of VARIANTS) {
  test(`KV-cache decoding equals full recomputation: ${name}`, () => {
    T.manualSeed(7);
    const model = LlamaModel.init(presets.micro(50, overrides));
    const c = model.config;
    const ids = [1, 7, 12, 33, 4, 9, 21, 40, 2, 17, 5];
    T.tidy(() =>
      T.noGrad(() => {
        const full = model.forward(T.tensor([ids], { dtype: "int64" }));
        const cache = KVCache.allocate(c.numLayers, 1, c.numKvHeads, ids.length, c.headDim);
        // A 4-token prefill, then one token at a time.
        const steps = [model.forward(T.tensor([ids.slice(0, 4)], { dtype: "int64" }), { cache })];
        for (let i = 4; i < ids.length; i++) steps.push(model.forward(T.tensor([[ids[i]!]], { dtype: "int64" }), { cache, pastLength: i }));
        const fused = model.inferenceWeights();
        const viaFused = model.forward(T.tensor([ids], { dtype: "int64" }), { fused });
        fused.dispose();
        cache.dispose();
        assert.ok(maxDiff(T.cat(steps, 1), full) < 1e-5, "cached logits");
        assert.ok(maxDiff(viaFused, full) < 1e-5, "fused inference weights");
      }),
    );
    model.dispose();
  });
}

for (const [name, overrides] of VARIANTS) {
  test(`shared-prefix decoding equals full recomputation of every rollout: ${name}`, () => {
    T.manualSeed(8);
    const model = LlamaModel.init(presets.micro(50, overrides));
    const c = model.config;
    // Two prompts of different lengths (left-padded to 5), three rollouts each, four fed tokens.
    const prompts = [[1, 7, 12, 33, 4], [1, 9, 21]];
    const g = 3;
    const fed = Array.from({ length: prompts.length * g }, (_, r) => [10 + r, 20 + r, 30 - r, 3 + r]);
    const width = 5;
    T.tidy(() =>
      T.noGrad(() => {
        const fused = model.inferenceWeights();
        const ids = T.tensor([[1, 7, 12, 33, 4], [0, 0, 1, 9, 21]], { dtype: "int64" });
        const positions = T.tensor([[0, 1, 2, 3, 4], [0, 0, 0, 1, 2]], { dtype: "int64" });
        const promptMask = T.tensor(Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]), { shape: [2, width], dtype: "bool" });
        const prefill = KVCache.allocate(c.numLayers, 2, c.numKvHeads, width, c.headDim);
        model.forward(ids, { positions, keyMask: promptMask, cache: prefill, fused });
        const cache = SharedPrefixCache.fromPrefill(prefill, g, promptMask, 4);
        prefill.dispose();
        const rows = fed.length;
        for (let step = 0; step < 4; step++) {
          const next = T.tensor(BigInt64Array.from(fed, (f) => BigInt(f[step]!)), { shape: [rows, 1] });
          const pos = T.tensor(BigInt64Array.from(fed, (_, r) => BigInt(prompts[Math.floor(r / g)]!.length + step)), { shape: [rows, 1] });
          const logits = model.forward(next, { positions: pos, cache, fused });
          fed.forEach((f, r) => {
            const sequence = [...prompts[Math.floor(r / g)]!, ...f.slice(0, step + 1)];
            const full = model.forward(T.tensor([sequence], { dtype: "int64" })).narrow(1, sequence.length - 1, 1);
            assert.ok(maxDiff(logits.narrow(0, r, 1), full) < 1e-5, `rollout ${r}, step ${step}`);
          });
        }
        cache.dispose();
        fused.dispose();
      }),
    );
    model.dispose();
  });
}

test("HF layout save/load round trip of a random Qwen3-style model gives identical logits", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-qwen3-"));
  try {
    T.manualSeed(3);
    const { json, config } = byteLevelTokenizerJson();
    const tokenizer = new HfTokenizer(json, config);
    const model = LlamaModel.init(presets.micro(tokenizer.vocabSize, { modelType: "qwen3", qkNorm: true, headDim: 16, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [263] }));
    saveHfCheckpoint(dir, model, tokenizer);
    const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(hf.model_type, "qwen3");
    assert.equal(hf.head_dim, 16);
    const loaded = loadCheckpoint(dir);
    assert.deepEqual(loaded.model.config, model.config);
    assert.deepEqual(loaded.tokenizer?.encode("the tea"), tokenizer.encode("the tea"));
    const ids = T.tensor([tokenizer.encode("Hello there, the end")], { dtype: "int64" });
    T.tidy(() => T.noGrad(() => assert.equal(maxDiff(model.forward(ids), loaded.model.forward(ids)), 0)));
    model.dispose();
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("init is seeded by T.manualSeed and names parameters as HF does", () => {
  T.manualSeed(11);
  const a = LlamaModel.init(presets.micro(30));
  T.manualSeed(11);
  const b = LlamaModel.init(presets.micro(30));
  for (const [name, t] of a.params) assert.equal(maxDiff(t, b.params.get(name)!), 0, name);
  assert.ok(a.params.has("model.layers.1.self_attn.q_proj.weight"));
  assert.ok(a.params.has("model.layers.0.mlp.gate_proj.weight"));
  assert.ok(!a.params.has("lm_head.weight"), "tied head");
  assert.ok([...a.params.values()].every((t) => t.requiresGrad));
  a.dispose();
  b.dispose();
});
