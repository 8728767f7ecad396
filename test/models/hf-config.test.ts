import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromHF, loadHfModel } from "../../src/models/index.js";
import { ropeInverseFrequencies } from "../../src/nn/rope.js";
import { ROOT } from "./helpers.js";

const HF = join(ROOT, "test", "fixtures", "hf");
const base = {
  model_type: "llama", vocab_size: 40, hidden_size: 32, intermediate_size: 32, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, max_position_embeddings: 256,
};
const llama3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };

test("transformers 4 and 5 config forms give the same config", () => {
  const v4 = configFromHF({ ...base, rope_theta: 500000, rope_scaling: { rope_type: "llama3", ...llama3 } });
  const v5 = configFromHF({ ...base, rope_parameters: { rope_type: "llama3", rope_theta: 500000, ...llama3 } });
  const legacyType = configFromHF({ ...base, rope_theta: 500000, rope_scaling: { type: "llama3", ...llama3 } });
  assert.deepEqual(v5, v4);
  assert.deepEqual(legacyType, v4);
  assert.equal(v4.ropeTheta, 500000);
  assert.deepEqual(v4.ropeScaling, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
  assert.equal(configFromHF({ ...base, model_type: "qwen3", rope_parameters: { rope_type: "default", rope_theta: 1e6 } }).ropeTheta, 1e6);
  assert.equal(configFromHF(base).ropeTheta, 10000, "transformers' default base when the file gives none");
  // transformers 5 may keep a top-level copy of the same theta.
  assert.equal(configFromHF({ ...base, rope_theta: 1e6, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }).ropeTheta, 1e6);
  assert.equal(configFromHF({ ...base, rope_scaling: { rope_type: "linear", factor: 2 } }).ropeScaling?.type, "linear");
});

test("llama3 RoPE frequencies: high kept, low divided by factor, medium interpolated (transformers' bands)", () => {
  const plain = ropeInverseFrequencies(8, 10000);
  const scaled = ropeInverseFrequencies(8, 10000, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 });
  // Wavelengths 2π/θ^(-2j/8): 6.3 (< 64/4: kept), 62.8 (between: smoothed), 628 and 6283 (> 64: ÷ 8).
  assert.equal(scaled[0], plain[0]);
  assert.equal(scaled[2], Math.fround(plain[2]! / 8));
  assert.equal(scaled[3], Math.fround(plain[3]! / 8));
  const smooth = (64 / ((2 * Math.PI) / plain[1]!) - 1) / 3;
  assert.ok(Math.abs(scaled[1]! - ((1 - smooth) * plain[1]! / 8 + smooth * plain[1]!)) < 1e-7);
  assert.ok(scaled[1]! < plain[1]! && scaled[1]! > plain[1]! / 8);
});

test("config fields that would change the math and are not implemented are errors naming file and field", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ model_type: "mistral" }, /cfg\.json, field "model_type": unsupported model_type "mistral"/],
    [{ model_type: undefined }, /field "model_type"/],
    [{ rope_scaling: { rope_type: "yarn", factor: 4 } }, /field "rope_scaling.rope_type": unsupported rope_type "yarn"/],
    [{ rope_scaling: { type: "dynamic", factor: 2 } }, /field "rope_scaling.type": unsupported rope_type "dynamic"/],
    [{ rope_parameters: { rope_type: "ntk", rope_theta: 1e4 } }, /field "rope_parameters.rope_type"/],
    [{ rope_parameters: { rope_type: "default", rope_theta: 1e4, factor: 2 } }, /field "rope_parameters.factor": parameter not understood/],
    [{ rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }, /field "rope_scaling.original_max_position_embeddings": missing/],
    [{ rope_scaling: { rope_type: "llama3", ...llama3, beta_fast: 32 } }, /field "rope_scaling.beta_fast"/],
    [{ rope_scaling: { rope_type: "llama3", ...llama3, high_freq_factor: 1 } }, /field "rope_scaling.high_freq_factor"/],
    [{ rope_theta: 1e4, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }, /field "rope_parameters.rope_theta": rope_theta 10000 disagrees/],
    [{ rope_scaling: "llama3" }, /field "rope_scaling": expected an object/],
    [{ rope_parameters: { rope_type: "default", rope_theta: 1e4, partial_rotary_factor: 0.5 } }, /partial_rotary_factor/],
    [{ model_type: "qwen2", use_sliding_window: true, sliding_window: 4096 }, /field "use_sliding_window": sliding-window attention/],
    [{ model_type: "qwen3", layer_types: ["full_attention", "sliding_attention"] }, /field "layer_types"/],
    [{ model_type: "qwen3", layer_types: ["full_attention"] }, /field "layer_types": expected 2 entries/],
    [{ attention_bias: true }, /field "attention_bias": attention biases are not supported for llama/],
    [{ model_type: "qwen3", attention_bias: true }, /field "attention_bias"/],
    [{ mlp_bias: true }, /field "mlp_bias"/],
    [{ hidden_act: "gelu" }, /field "hidden_act"/],
    [{ attention_dropout: 0.1 }, /field "attention_dropout"/],
    [{ quantization_config: { quant_method: "bitsandbytes" } }, /field "quantization_config"/],
    [{ architectures: ["LlamaForSequenceClassification"] }, /field "architectures"/],
    [{ tie_word_embeddings: "yes" }, /field "tie_word_embeddings"/],
    [{ num_key_value_heads: 3 }, /field "num_key_value_heads"/],
  ];
  for (const [patch, re] of bad) assert.throws(() => configFromHF({ ...base, ...patch }, "cfg.json"), re, JSON.stringify(patch));
  // Fields meaning "off", and bookkeeping, are accepted.
  const ok = configFromHF({ ...base, model_type: "qwen2", use_sliding_window: false, sliding_window: 32768, max_window_layers: 28, attention_dropout: 0, torch_dtype: "bfloat16", use_cache: true, initializer_range: 0.02 });
  assert.equal(ok.attentionBias, true, "Qwen2 always has q/k/v biases");
  assert.equal(configFromHF({ ...base, model_type: "qwen3", layer_types: ["full_attention", "full_attention"], sliding_window: null }).qkNorm, true);
  assert.equal(configFromHF({ ...base, model_type: "qwen3" }).maxPositionEmbeddings, 256);
});

test("sharded checkpoints: shard paths must resolve inside the folder, every tensor in its listed shard", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-shards-"));
  const outside = mkdtempSync(join(tmpdir(), "fgrpo-outside-"));
  try {
    const src = join(HF, "qwen3-untied-bf16-sharded-v4");
    cpSync(src, dir, { recursive: true });
    const indexFile = join(dir, "model.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexFile, "utf8")) as { weight_map: Record<string, string> };
    const [name, shard] = Object.entries(index.weight_map)[0]!;
    const write = (map: Record<string, string>) => writeFileSync(indexFile, JSON.stringify({ weight_map: map }));
    write({ ...index.weight_map, [name]: "../" + shard });
    assert.throws(() => loadHfModel(dir), /model\.safetensors\.index\.json, field "weight_map\.[^"]+": shard "\.\.\/.*" lies outside the checkpoint folder/);
    write({ ...index.weight_map, [name]: "/etc/passwd" });
    assert.throws(() => loadHfModel(dir), /lies outside the checkpoint folder/);
    cpSync(join(src, shard), join(outside, shard));
    symlinkSync(join(outside, shard), join(dir, "link.safetensors"));
    write({ ...index.weight_map, [name]: "link.safetensors" });
    assert.throws(() => loadHfModel(dir), /links outside the checkpoint folder/);
    write({ ...index.weight_map, [name]: "missing.safetensors" });
    assert.throws(() => loadHfModel(dir), /shard "missing\.safetensors" not found/);
    const other = Object.values(index.weight_map).find((s) => s !== shard)!;
    write({ ...index.weight_map, [name]: other });
    assert.throws(() => loadHfModel(dir), /not listed for this shard/);
    write(index.weight_map);
    loadHfModel(dir).dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
