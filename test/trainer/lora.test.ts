// LoRA and activation checkpointing in the trainer: SFT + RL (with a KL reference) from a saved
// base checkpoint train only the adapters; the saved model is the merged weights plus a PEFT
// adapter folder; an interrupted LoRA run resumes to the same metrics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";
import { loadHfModel } from "../../src/models/hf.js";
import { loadAdapter } from "../../src/models/peft.js";

const TIMING = new Set(["ms_generation", "ms_scoring", "ms_update", "rollout_tokens_per_s", "rollouts_per_s"]);
const quiet = { quiet: true, log: () => {} };

const common = {
  seed: 5, threads: 1, blas_threads: 1,
  task: { train_examples: 200, eval_examples: 8 },
  model: { hidden_size: 32, num_layers: 2, num_heads: 2, num_kv_heads: 1, intermediate_size: 64 },
};

function loraConfig(dir: string, base: string) {
  return parseConfig({
    ...common,
    output_dir: dir,
    model: { ...common.model, checkpoint: base, lora: { r: 4, alpha: 8, dropout: 0.1 }, gradient_checkpointing: true },
    sft: { max_steps: 4, batch_size: 4, warmup_steps: 1, save_every: 2, learning_rate: 1e-2 },
    rl: { max_steps: 3, prompts_per_step: 2, num_generations: 4, warmup_steps: 1, save_every: 1, beta: 0.04 },
  });
}

function metricLines(dir: string, phase: string): Record<string, unknown>[] {
  return readFileSync(join(dir, phase, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    for (const k of TIMING) delete r[k];
    return r;
  });
}

test("LoRA + checkpointing run: adapters only, merged export + PEFT adapter, KL against the base, exact resume", () => {
  const base = mkdtempSync(join(tmpdir(), "fgrpo-lora-base-"));
  const a = mkdtempSync(join(tmpdir(), "fgrpo-lora-a-"));
  const b = mkdtempSync(join(tmpdir(), "fgrpo-lora-b-"));
  try {
    // A base checkpoint: a short full fine-tune.
    const pre = runTraining(parseConfig({ ...common, output_dir: base, sft: { max_steps: 6, batch_size: 8, warmup_steps: 1 }, rl: { max_steps: 0 } }), quiet);
    const full = runTraining(loraConfig(a, pre.finalModel), quiet);
    assert.equal(full.interrupted, false);

    const adapterConfig = JSON.parse(readFileSync(join(full.finalModel, "adapter", "adapter_config.json"), "utf8"));
    assert.equal(adapterConfig.peft_type, "LORA");
    assert.equal(adapterConfig.base_model_name_or_path, pre.finalModel);
    const rl = metricLines(a, "rl").filter((r) => r.phase === "rl" && r.validation === undefined);
    assert.equal(rl.length, 3);
    // The KL term is computed against the base model: after SFT moved the adapters it is > 0.
    for (const r of rl) assert.ok(Number.isFinite(r.kl as number) && (r.kl as number) > 0, `kl ${r.kl}`);

    T.tidy(() => {
      const ids = T.tensor(BigInt64Array.from([1n, 4n, 7n, 9n, 12n, 3n]), { shape: [1, 6] });
      const baseModel = loadHfModel(pre.finalModel);
      const baseLogits = T.noGrad(() => baseModel.forward(ids));
      const merged = loadHfModel(full.finalModel);
      // The saved model differs from the base only through the adapters: base + adapter == merged.
      loadAdapter(join(full.finalModel, "adapter"), baseModel);
      T.noGrad(() => {
        const adapted = baseModel.forward(ids);
        assert.ok(adapted.sub(baseLogits).abs().max().item() > 1e-4, "the adapters were trained");
        assert.ok(merged.forward(ids).sub(adapted).abs().max().item() < 1e-5);
        // Every non-projection weight is the base's, bit for bit.
        for (const [name, t] of merged.params) {
          if (/_proj\.weight$/.test(name)) continue;
          assert.deepEqual(t.toFloat32Array(), baseModel.params.get(name)!.toFloat32Array(), name);
        }
      });
      baseModel.dispose();
      merged.dispose();
    });

    const cut = runTraining(loraConfig(b, pre.finalModel), { ...quiet, stopAfter: { phase: "rl", step: 1 } });
    assert.equal(cut.interrupted, true);
    const resumed = runTraining(loraConfig(b, pre.finalModel), quiet);
    assert.deepEqual(metricLines(b, "rl"), metricLines(a, "rl"));
    assert.deepEqual(resumed.rl!.means, full.rl!.means);
  } finally {
    for (const d of [base, a, b]) rmSync(d, { recursive: true, force: true });
  }
});

test("model.lora and model.gradient_checkpointing are validated with the field named", () => {
  const c = parseConfig({ model: { lora: {}, gradient_checkpointing: true } });
  assert.deepEqual(c.model.lora, { r: 16, alpha: 32, dropout: 0.05, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] });
  assert.equal(parseConfig({}).model.lora, null);
  assert.throws(() => parseConfig({ model: { lora: { target_modules: ["lm_head"] } } }, "c.json"), /c\.json, field "model\.lora\.target_modules\.0"/);
  assert.throws(() => parseConfig({ model: { lora: { r: 0 } } }, "c.json"), /field "model\.lora\.r"/);
  assert.throws(() => parseConfig({ model: { lora: { dropout: 1 } } }, "c.json"), /field "model\.lora\.dropout"/);
  assert.throws(() => parseConfig({ model: { lora: { rank: 8 } } }, "c.json"), /field "model\.lora": unknown field\(s\) "rank"/);
});
