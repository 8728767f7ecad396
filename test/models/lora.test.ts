import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { LlamaModel } from "../../src/models/llama.js";
import { presets } from "../../src/models/config.js";
import { loadHfModel, saveHfCheckpoint } from "../../src/models/hf.js";
import { loadAdapter, saveAdapter } from "../../src/models/peft.js";
import { LORA_TARGETS, type LoraConfig } from "../../src/nn/lora.js";
import { scoreCompletions } from "../../src/generation/score.js";

const VOCAB = 48;
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, targetModules: [...LORA_TARGETS] };

/** A Qwen3-shaped micro model (q/k norm, GQA 4→2), float32, seeded. */
function qwen3Micro(seed = 3): LlamaModel {
  T.manualSeed(seed);
  return LlamaModel.init(presets.micro(VOCAB, { modelType: "qwen3", qkNorm: true, numLayers: 3 }));
}

function ids(rows: number[][]): T.Tensor {
  return T.tensor(BigInt64Array.from(rows.flat(), BigInt), { shape: [rows.length, rows[0]!.length] });
}

const BATCH = [[1, 5, 9, 13, 17, 21, 25, 29], [2, 6, 10, 14, 18, 22, 26, 30]];

/** Cross-entropy of next-token prediction on BATCH. */
function lmLoss(model: LlamaModel): T.Tensor {
  const x = ids(BATCH);
  const logits = model.forward(x.narrow(1, 0, 7));
  return T.crossEntropy(logits.reshape(14, VOCAB), x.narrow(1, 1, 7).reshape(14));
}

function snapshot(ts: Map<string, T.Tensor>): Map<string, Float32Array> {
  return new Map([...ts].map(([k, v]) => [k, T.noGrad(() => v.toFloat32Array())]));
}

function maxAbsDiff(a: T.Tensor, b: T.Tensor): number {
  return T.tidy(() => T.noGrad(() => a.sub(b).abs().max().item()));
}

test("LoRA init follows PEFT: A in U(-1/sqrt(in), 1/sqrt(in)), B zero, scaling alpha/r; a new adapter changes nothing", () => {
  T.tidy(() => {
    const model = qwen3Micro();
    const before = T.noGrad(() => model.forward(ids(BATCH)));
    const lora = model.addLora(LORA);
    assert.equal(lora.modules.size, 3 * 7);
    const q = lora.modules.get("model.layers.0.self_attn.q_proj")!;
    assert.deepEqual(q.A.shape, [4, 32]);
    assert.deepEqual(q.B.shape, [32, 4]);
    assert.equal(q.scaling, 2);
    const down = lora.modules.get("model.layers.2.mlp.down_proj")!;
    assert.deepEqual(down.A.shape, [4, 64]);
    const a = down.A.toFloat32Array();
    assert.ok(a.every((v) => Math.abs(v) <= 1 / 8) && a.some((v) => Math.abs(v) > 0.1), "A spans U(-1/8, 1/8)");
    assert.ok(down.B.toFloat32Array().every((v) => v === 0));
    const after = T.noGrad(() => model.forward(ids(BATCH)));
    assert.equal(maxAbsDiff(before, after), 0);
    model.dispose();
  });
});

test("LoRA trains only the adapters: every adapter matrix changes, base weights stay bit-identical and get no gradient", () => {
  T.tidy(() => {
    const model = qwen3Micro();
    model.addLora({ ...LORA, dropout: 0.1 });
    const base = snapshot(model.params);
    const trainable = model.trainableParameters();
    assert.equal(trainable.size, 2 * 3 * 7);
    assert.ok([...trainable.keys()].every((k) => /^base_model\.model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$/.test(k)));
    const start = snapshot(trainable);
    const opt = new T.AdamW(trainable, { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      T.tidy(() => {
        const loss = lmLoss(model);
        losses.push(loss.item());
        loss.backward();
      });
      for (const p of model.params.values()) assert.equal(p.grad, null, "a base weight got a gradient");
      opt.update();
      opt.zeroGrad();
    }
    assert.ok(losses[4]! < losses[0]!, `loss fell: ${losses}`);
    for (const [name, t] of snapshot(model.params)) assert.deepEqual(t, base.get(name), `${name} changed`);
    for (const [name, t] of snapshot(trainable)) assert.notDeepEqual(t, start.get(name), `${name} did not change`);
    opt.dispose();
    model.dispose();
  });
});

/** A model whose adapters are trained a little (B no longer zero). */
function trainedLoraModel(config: Partial<LoraConfig> = {}): LlamaModel {
  const model = qwen3Micro();
  model.addLora({ ...LORA, ...config });
  T.noGrad(() => {
    for (const l of model.lora!.modules.values()) l.B.copy_(T.tidy(() => T.randn(l.B.shape).mul(0.05)));
  });
  return model;
}

test("merge(base, adapter) logits equal the adapted model's; disabled adapters give the base logits exactly; the fused decoding snapshot is merged", () => {
  T.tidy(() => {
    const model = qwen3Micro();
    const baseLogits = T.noGrad(() => model.forward(ids(BATCH)));
    model.dispose();
    const adapted = trainedLoraModel();
    T.noGrad(() => {
      const logits = adapted.forward(ids(BATCH));
      assert.ok(maxAbsDiff(logits, baseLogits) > 1e-3, "the adapter changes the logits");
      const merged = adapted.withMergedAdapters((m) => m.forward(ids(BATCH)));
      // One float32 rounding of W + s·B·A per weight against the unmerged sum: ~1e-7 relative.
      assert.ok(maxAbsDiff(merged, logits) < 1e-5, `merged vs adapted: ${maxAbsDiff(merged, logits)}`);
      assert.equal(maxAbsDiff(adapted.withoutAdapters(() => adapted.forward(ids(BATCH))), baseLogits), 0);
      const fused = adapted.inferenceWeights();
      assert.ok(maxAbsDiff(adapted.forward(ids(BATCH), { fused }), logits) < 1e-5);
      fused.dispose();
    });
    adapted.dispose();
  });
});

test("merged export is a normal HF checkpoint with the adapted logits", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-lora-"));
  try {
    T.tidy(() => {
      const adapted = trainedLoraModel();
      const logits = T.noGrad(() => adapted.forward(ids(BATCH)));
      adapted.withMergedAdapters((m) => saveHfCheckpoint(dir, m));
      const loaded = loadHfModel(dir);
      assert.ok(maxAbsDiff(T.noGrad(() => loaded.forward(ids(BATCH))), logits) < 1e-5);
      loaded.dispose();
      adapted.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("PEFT layout: adapter_config.json and adapter_model.safetensors with PEFT's keys and shapes; load round trip", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-peft-"));
  try {
    T.tidy(() => {
      const adapted = trainedLoraModel({ targetModules: ["q_proj", "v_proj", "down_proj"], dropout: 0.05 });
      saveAdapter(dir, adapted, "Qwen/Qwen3-0.6B");
      const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
      assert.equal(config.peft_type, "LORA");
      assert.equal(config.task_type, "CAUSAL_LM");
      assert.equal(config.r, 4);
      assert.equal(config.lora_alpha, 8);
      assert.equal(config.lora_dropout, 0.05);
      assert.equal(config.bias, "none");
      assert.equal(config.base_model_name_or_path, "Qwen/Qwen3-0.6B");
      assert.deepEqual(config.target_modules, ["q_proj", "v_proj", "down_proj"]);
      const { tensors } = T.loadSafetensors(join(dir, "adapter_model.safetensors"));
      assert.equal(tensors.size, 3 * 3 * 2);
      assert.deepEqual(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!.shape, [4, 32]);
      assert.deepEqual(tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!.shape, [32, 4]);
      assert.deepEqual(tensors.get("base_model.model.model.layers.2.self_attn.v_proj.lora_B.weight")!.shape, [16, 4]);
      assert.deepEqual(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")!.shape, [4, 64]);
      const logits = T.noGrad(() => adapted.forward(ids(BATCH)));
      // A fresh copy of the same base model, with the saved adapter loaded onto it.
      const fresh = qwen3Micro();
      const loaded = loadAdapter(dir, fresh);
      assert.equal(loaded.config.dropout, 0.05);
      for (const [name, t] of adapted.lora!.parameters()) assert.deepEqual(loaded.parameters().get(name)!.toFloat32Array(), t.toFloat32Array());
      assert.equal(maxAbsDiff(T.noGrad(() => fresh.forward(ids(BATCH))), logits), 0);
      for (const p of fresh.params.values()) assert.equal(p.requiresGrad, false);
      fresh.dispose();
      adapted.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("PEFT adapter errors name the file and field", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-peft-bad-"));
  try {
    T.tidy(() => {
      const adapted = trainedLoraModel();
      saveAdapter(dir, adapted, null);
      const good = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
      const attempt = (patch: Record<string, unknown>, re: RegExp) => {
        writeFileSync(join(dir, "adapter_config.json"), JSON.stringify({ ...good, ...patch }));
        const fresh = qwen3Micro();
        assert.throws(() => loadAdapter(dir, fresh), re);
        fresh.dispose();
      };
      attempt({ use_dora: true }, /adapter_config\.json, field "use_dora"/);
      attempt({ bias: "all" }, /field "bias"/);
      attempt({ target_modules: ["lm_head"] }, /field "target_modules": unsupported module "lm_head"/);
      attempt({ r: 8 }, /adapter_model\.safetensors: .*do not fit the weight \[32, 32\] with rank 8/);
      attempt({ target_modules: ["q_proj"] }, /unexpected tensor base_model\.model\.model\.layers\.0\.\w+\.(k|v|o|gate|up|down)_proj\.lora_A\.weight/);
      adapted.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Gradients of the adapters (or all parameters) for a scoring loss, plain or checkpointed. */
function scoringGrads(lora: boolean, checkpointing: boolean, sharedPrefix: boolean): Map<string, Float64Array> {
  return T.tidy(() => {
    const model = qwen3Micro();
    if (lora) trainedLoraModelInPlace(model);
    model.gradientCheckpointing = checkpointing;
    T.manualSeed(11);
    const prompts = [[1, 3, 5, 7, 9], [2, 4, 6]];
    const completions = [[10, 11, 12], [13, 14], [15], [16, 17, 18, 19]];
    const r = scoreCompletions(model, prompts, completions, { groupOf: [0, 0, 1, 1], sharedPrefix });
    r.logprobs.sum().add(r.entropy.sum().mul(0.3)).backward();
    const out = new Map([...model.trainableParameters()].map(([k, v]) => [k, v.grad!.toFloat64Array()]));
    model.dispose();
    return out;
  });
}

function trainedLoraModelInPlace(model: LlamaModel): void {
  model.addLora({ ...LORA, dropout: 0.2 });
  T.noGrad(() => {
    for (const l of model.lora!.modules.values()) l.B.copy_(T.tidy(() => T.randn(l.B.shape).mul(0.05)));
  });
}

function assertGradsClose(a: Map<string, Float64Array>, b: Map<string, Float64Array>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, g] of a) {
    const h = b.get(name)!;
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    assert.ok(scale > 0, `${name} has a zero gradient`);
    // Same operations in the same order; only the sums over a weight's uses may differ in order.
    g.forEach((v, i) => assert.ok(Math.abs(v - h[i]!) <= 1e-5 * scale, `${name}[${i}]: ${v} vs ${h[i]}`));
  }
}

test("checkpointed gradients equal plain ones: full model and LoRA (dropout replayed), shared-prefix and unshared scoring", () => {
  for (const sharedPrefix of [true, false]) {
    assertGradsClose(scoringGrads(false, true, sharedPrefix), scoringGrads(false, false, sharedPrefix));
    assertGradsClose(scoringGrads(true, true, sharedPrefix), scoringGrads(true, false, sharedPrefix));
  }
});
