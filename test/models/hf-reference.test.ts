import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { LlamaModel, loadHfModel, saveHfCheckpoint, type LlamaConfig } from "../../src/models/index.js";
import { ROOT } from "./helpers.js";

/**
 * Logits of tiny random HF checkpoints (test/fixtures/hf/, written by the project's saver through
 * scripts/fixtures/make-hf-checkpoints.mjs) against a float64 reference of the same weights
 * produced once by scripts/fixtures/hf_reference.py, an independent implementation of
 * transformers' Llama/Qwen2/Qwen3 forward passes and RoPE scalings.
 */
const HF = join(ROOT, "test", "fixtures", "hf");
const reference = JSON.parse(readFileSync(join(HF, "reference-logits.json"), "utf8")) as { inputs: number[][]; checkpoints: Record<string, number[][][]> };

/**
 * Float32 error bound: each logit is a chain of 2 layers of length-32/64 dot products, softmaxes
 * and RMSNorms over values of size ~1–10; a few ulps (2^-24 ≈ 6e-8) of relative rounding per
 * step, grown by the sums' lengths, stays below 1e-5 of the largest logit magnitude.
 */
function maxError(got: number[][], want: number[][]): { worst: number; scale: number } {
  let scale = 1;
  for (const row of want) for (const v of row) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let t = 0; t < want.length; t++) for (let v = 0; v < want[t]!.length; v++) worst = Math.max(worst, Math.abs(got[t]![v]! - want[t]![v]!));
  return { worst, scale };
}

function assertClose(got: number[][], want: number[][], what: string, rel = 1e-5): void {
  const { worst, scale } = maxError(got, want);
  assert.ok(worst <= rel * scale, `${what}: max |Δlogit| ${worst} exceeds ${rel * scale} (largest logit ${scale})`);
}

function logitsOf(model: LlamaModel, ids: number[]): number[][] {
  return T.tidy(() =>
    T.noGrad(() => {
      const y = model.forward(T.tensor([ids], { dtype: "int64" })).squeeze(0).to("float32").contiguous();
      const [t, v] = y.shape as [number, number];
      const flat = y.data() as Float32Array;
      return Array.from({ length: t }, (_, i) => Array.from(flat.subarray(i * v, (i + 1) * v)));
    }),
  );
}

const names = readdirSync(HF, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

test("every fixture checkpoint has reference logits", () => {
  assert.deepEqual(names, Object.keys(reference.checkpoints).sort());
  assert.ok(names.length >= 6);
});

for (const name of names) {
  test(`logits equal the float64 reference: ${name}`, () => {
    const model = loadHfModel(join(HF, name));
    try {
      assert.equal(model.headWeight.dtype, "float32");
      reference.inputs.forEach((ids, i) => assertClose(logitsOf(model, ids), reference.checkpoints[name]![i]!, `${name} input ${i}`));
    } finally {
      model.dispose();
    }
  });
}

test("the fixtures cover both config forms, llama3 scaling, biases, q/k norm, tied and untied heads, BF16 shards", () => {
  const seen = new Map<string, LlamaConfig>();
  for (const n of names) {
    const json = JSON.parse(readFileSync(join(HF, n, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal("rope_parameters" in json, n.endsWith("-v5"), `${n}: config form`);
    assert.equal("rope_theta" in json, n.endsWith("-v4"), `${n}: config form`);
    const m = loadHfModel(join(HF, n));
    seen.set(n, m.config);
    m.dispose();
  }
  const all = [...seen.values()];
  assert.ok(all.some((c) => c.ropeScaling?.type === "llama3"));
  assert.ok(all.some((c) => c.modelType === "qwen2" && c.attentionBias));
  assert.ok(all.some((c) => c.modelType === "qwen3" && c.tieWordEmbeddings));
  assert.ok(all.some((c) => c.modelType === "qwen3" && !c.tieWordEmbeddings));
  assert.equal(seen.get("qwen3-tied-v5")!.ropeTheta, 1e6, "transformers 5 rope_parameters.rope_theta is read");
  assert.deepEqual(seen.get("llama3-scaling-v5")!.ropeScaling, seen.get("llama3-scaling-v4")!.ropeScaling, "both forms give the same scaling");
  const shards = readdirSync(join(HF, "qwen3-untied-bf16-sharded-v4")).filter((f) => f.endsWith(".safetensors"));
  assert.ok(shards.length > 1, "sharded");
});

test("the reference test can fail: ignoring llama3 scaling or rope_parameters' theta moves the logits far beyond the tolerance", () => {
  for (const [name, wrong] of [
    ["llama3-scaling-v5", { ropeScaling: null }],
    ["qwen3-tied-v5", { ropeTheta: 10000 }],
  ] as [string, Partial<LlamaConfig>][]) {
    const right = loadHfModel(join(HF, name));
    const model = new LlamaModel({ ...right.config, ...wrong }, right.params);
    const { worst, scale } = maxError(logitsOf(model, reference.inputs[0]!), reference.checkpoints[name]![0]!);
    assert.ok(worst > 1e-3 * scale, `${name}: ${JSON.stringify(wrong)} changed the logits by only ${worst}`);
    model.dispose();
    right.rope.dispose();
  }
});

test("save → load round trips (float32 single file, BF16 shards) keep the logits", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-hf-rt-"));
  try {
    const model = loadHfModel(join(HF, "llama3-scaling-v4"));
    const ids = reference.inputs[0]!;
    const before = logitsOf(model, ids);
    saveHfCheckpoint(dir, model);
    const again = loadHfModel(dir);
    assert.deepEqual(again.config, model.config);
    assert.deepEqual(logitsOf(again, ids), before, "float32 save/load is exact");
    again.dispose();
    saveHfCheckpoint(dir, model, null, { dtype: "bfloat16", maxShardBytes: 4096 });
    assert.ok(readdirSync(dir).includes("model.safetensors.index.json"));
    assert.ok(!readdirSync(dir).includes("model.safetensors"), "the stale single file is removed");
    assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).torch_dtype, "bfloat16");
    const bf = loadHfModel(dir);
    // BF16 keeps 8 bits of mantissa: the logits move, by about 2^-8 of their size.
    const { worst, scale } = maxError(logitsOf(bf, ids), before);
    assert.ok(worst > 0 && worst < 0.1 * scale, `bf16 round trip moved logits by ${worst}`);
    bf.dispose();
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a bfloat16 model computes in bfloat16 and stays near the float32 logits", () => {
  const model = loadHfModel(join(HF, "qwen3-tied-v5"), undefined, { dtype: "bfloat16" });
  try {
    assert.equal(model.headWeight.dtype, "bfloat16");
    const { worst, scale } = maxError(logitsOf(model, reference.inputs[1]!), reference.checkpoints["qwen3-tied-v5"]![1]!);
    assert.ok(worst < 0.1 * scale, `bf16 logits off by ${worst} (scale ${scale})`);
  } finally {
    model.dispose();
  }
});
