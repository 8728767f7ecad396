// The decoupled pipelines started from a unified checkpoint (issue 12): both stages really are
// copies of it (with no stage training the chain reproduces the unified model's greedy output
// token for token, and the saved stage models hold its weights), a checkpoint of another
// vocabulary is refused in one line, a pipeline with neither a checkpoint nor SFT steps is
// refused, and decoupled-rl's two stages share the unified methods' rollout budget.
import * as T from "../../src/torch/index.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TrainConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { disposePolicy, loadPolicy, loadPolicyCodec } from "../../src/fgrpo/trainer/policy.js";
import { greedyCompletions } from "../../src/fgrpo/trainer/evaluate.js";
import { decoupledRlSteps, runDecoupled } from "../../src/fgrpo/trainer/decoupled.js";
import { chainedCompletions } from "../../src/fgrpo/trainer/decoupled-chain.js";
import { runComparison } from "../../src/fgrpo/trainer/compare.js";
import { InputError } from "../../src/util/errors.js";

const work = mkdtempSync(join(tmpdir(), "fgrpo-decoupled-"));
after(() => rmSync(work, { recursive: true, force: true }));

const TINY = {
  name: "decoupled", seed: 1, threads: 1, blas_threads: 1,
  task: { train_examples: 200, eval_examples: 12 },
  model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
  sft: { max_steps: 8, batch_size: 8, warmup_steps: 1, learning_rate: 0.01 },
  rl: { max_steps: 0, prompts_per_step: 2, num_generations: 4, warmup_steps: 1 },
};
const config = (patch: Record<string, unknown>): TrainConfig => {
  const raw = { ...TINY, ...patch } as Record<string, unknown>;
  for (const k of ["task", "model", "sft", "rl"] as const) raw[k] = { ...(TINY[k] as object), ...(patch[k] as object | undefined) };
  return parseConfig(raw);
};
let unified = "";

before(() => {
  unified = runTraining(config({ output_dir: join(work, "unified") }), { quiet: true, log: () => undefined }).finalModel;
});

/** A warm-started pipeline's config and the task encoded with the checkpoint's vocabulary (as compare sets it up). */
function warm(name: string, patch: Record<string, unknown> = {}) {
  const cfg = config({ output_dir: join(work, name), ...patch, model: { checkpoint: unified }, sft: { max_steps: 0, ...(patch.sft as object | undefined) } });
  const task = setupTask(cfg, loadPolicyCodec(cfg, unified));
  return { cfg, task, examples: task.evalExamples("test", 12) };
}

test("with sft.max_steps 0 both stages are the checkpoint: the chain reproduces the unified model's greedy output", () => {
  const { cfg, task, examples } = warm("chain0");
  const r = runDecoupled("decoupled-sft", cfg, task, examples, { quiet: true, log: () => undefined });
  const model = loadPolicy(unified, cfg);
  try {
    const own = greedyCompletions(model, task, examples, { constrained: true });
    // The saved stage models hold the checkpoint's weights.
    for (const stage of ["selector-final", "ranker-final"]) {
      const saved = loadPolicy(join(cfg.output_dir, stage), cfg);
      try {
        for (const [name, t] of model.model.params) assert.deepEqual(saved.model.params.get(name)!.toFloat32Array(), t.toFloat32Array(), `${stage} ${name}`);
        assert.deepEqual(chainedCompletions(task, examples, saved, saved, cfg.seed), own);
      } finally {
        disposePolicy(saved);
      }
    }
    // And the table's scores are the unified model's.
    const ownScores = runComparison(config({ output_dir: join(work, "cmp0"), model: { checkpoint: unified }, sft: { max_steps: 0 } }), { methods: ["sft", "decoupled-sft"], seeds: [1], dir: join(work, "cmp0"), split: "test", examples: 12, hooks: { quiet: true, log: () => undefined } });
    const [sft, dec] = ownScores.rows;
    assert.equal(dec!.metrics["ndcg@5"]!.mean, sft!.metrics["ndcg@5"]!.mean);
    assert.equal(dec!.vsReference?.["ndcg@5"]?.meanDiff ?? 0, 0);
    assert.ok(r.means["ndcg@5"]! >= 0);
  } finally {
    disposePolicy(model);
  }
});

test("a checkpoint of another vocabulary is refused with a one-line error naming its vocab.json", () => {
  const other = join(work, "other-vocab");
  cpSync(unified, other, { recursive: true });
  const vocab = JSON.parse(readFileSync(join(other, "vocab.json"), "utf8")) as { symbols: string[] };
  const i = vocab.symbols.findIndex((s) => s.startsWith("item:"));
  vocab.symbols[i] = "item:not-in-this-task";
  writeFileSync(join(other, "vocab.json"), JSON.stringify(vocab));
  // Through compare (the task is then encoded with the checkpoint's vocabulary): a symbol of the task is missing.
  const cfg = config({ output_dir: join(work, "cmp-other"), model: { checkpoint: other }, sft: { max_steps: 0 } });
  assert.throws(() => runComparison(cfg, { methods: ["decoupled-sft"], seeds: [1], dir: join(work, "cmp-other"), split: "test", examples: 4, hooks: { quiet: true, log: () => undefined } }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /vocab\.json: vocabulary lacks 1 symbol\(s\) of this task \(e\.g\. "item:/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  // A task encoded with one vocabulary and a checkpoint of another.
  const { task, examples } = warm("mismatch");
  const mixed = config({ output_dir: join(work, "mismatch"), model: { checkpoint: other }, sft: { max_steps: 0 } });
  assert.throws(() => runDecoupled("decoupled-sft", mixed, task, examples, { log: () => undefined }), /vocab\.json: vocabulary \(\d+ symbols\) is not the one this task was encoded with/);
});

test("without a checkpoint, sft.max_steps 0 is refused (the stages would be untrained)", () => {
  const cfg = config({ output_dir: join(work, "scratch0"), sft: { max_steps: 0 } });
  assert.throws(() => runComparison(cfg, { methods: ["decoupled-sft"], seeds: [1], dir: join(work, "scratch0"), split: "test", examples: 4, hooks: { quiet: true, log: () => undefined } }), /field "sft\.max_steps": the decoupled pipelines. selector and ranker would be untrained/);
});

test("decoupled-rl splits the unified rollout budget between its stages and logs rollouts_seen over the pipeline", () => {
  assert.deepEqual(decoupledRlSteps(100), { selector: 50, ranker: 50 });
  assert.deepEqual(decoupledRlSteps(5), { selector: 2, ranker: 3 });
  const { cfg, task, examples } = warm("rl", { rl: { max_steps: 3, eval_every: 1 } });
  runDecoupled("decoupled-rl", cfg, task, examples.slice(0, 4), { quiet: true, log: () => undefined });
  const lines = (stage: string) => readFileSync(join(cfg.output_dir, stage, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; rollouts_seen: number; loss?: number; validation?: Record<string, number> });
  const perStep = cfg.rl.prompts_per_step * cfg.rl.num_generations;
  const sel = lines("selector-rl"), rank = lines("ranker-rl");
  assert.deepEqual(sel.filter((l) => l.loss !== undefined).map((l) => l.rollouts_seen), [perStep]);
  assert.deepEqual(rank.filter((l) => l.loss !== undefined).map((l) => l.rollouts_seen), [2 * perStep, 3 * perStep]);
  // The chained pipeline is validated after every step, at the same x.
  assert.deepEqual([...sel, ...rank].filter((l) => l.validation).map((l) => l.rollouts_seen), [perStep, 2 * perStep, 3 * perStep]);
  assert.ok([...sel, ...rank].filter((l) => l.validation).every((l) => Number.isFinite(l.validation!["ndcg@5"])));
});

test("decoupled-rl refuses the off-policy and KL settings its stage step does not implement", () => {
  for (const [rl, field] of [[{ num_minibatches: 2, max_steps: 2 }, "num_minibatches"], [{ beta: 0.1, max_steps: 2 }, "beta"]] as const) {
    const { cfg, task, examples } = warm(`refuse-${field}`, { rl });
    assert.throws(() => runDecoupled("decoupled-rl", cfg, task, examples, { log: () => undefined }), new RegExp(`field "rl\\.${field}": decoupled-rl's stages take one on-policy update`));
  }
});

test("compare.sft_overrides gives a decoupled pipeline its own stage fine-tune next to the shared SFT start, and only to those", () => {
  const dir = join(work, "cmp-ft");
  const cfg = config({ output_dir: dir, model: { checkpoint: unified }, sft: { max_steps: 0 }, compare: { sft_overrides: { "decoupled-sft": { max_steps: 2, eval_every: 1 } } } });
  const c = runComparison(cfg, { methods: ["sft", "decoupled-sft"], seeds: [1], dir, split: "test", examples: 4, hooks: { quiet: true, log: () => undefined } });
  assert.deepEqual(c.rows.map((r) => r.method), ["sft", "decoupled-sft"]);
  for (const stage of ["selector", "ranker"]) {
    const lines = readFileSync(join(dir, "seed-1", "decoupled-sft", stage, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss?: number; validation?: object });
    assert.deepEqual(lines.filter((l) => l.loss !== undefined).map((l) => l.step), [1, 2], stage);
    assert.equal(lines.filter((l) => l.validation).length, 2, stage);
  }
  const bad = config({ output_dir: dir, model: { checkpoint: unified }, sft: { max_steps: 0 }, compare: { sft_overrides: { fgrpo: { max_steps: 2 } } } });
  assert.throws(() => runComparison(bad, { methods: ["fgrpo"], seeds: [1], dir, split: "test", examples: 4 }), /field "compare\.sft_overrides\.fgrpo": only the decoupled pipelines/);
});

test("a pipeline folder resumes only under its own config: another one is a one-line error", () => {
  const { cfg, task, examples } = warm("resume-other");
  runDecoupled("decoupled-sft", cfg, task, examples.slice(0, 2), { quiet: true, log: () => undefined });
  const other = { ...cfg, rl: { ...cfg.rl, learning_rate: cfg.rl.learning_rate * 2 } };
  assert.throws(() => runDecoupled("decoupled-sft", other, task, examples.slice(0, 2), { log: () => undefined }), /config\.json: output_dir already holds a pipeline with a different config/);
});

test("a pipeline runs at its config's thread counts, not at those an earlier run of the process left", () => {
  // compare runs decoupled pipelines after unified runs in one process; before, only the unified
  // runs set the thread counts, so a pipeline's numbers depended on what ran before it.
  const { cfg, task, examples } = warm("threads");
  T.setNumThreads(2, 2);
  try {
    runDecoupled("decoupled-sft", cfg, task, examples.slice(0, 2), { quiet: true, log: () => undefined });
    assert.equal(T.getNumThreads(), 1);
    assert.equal(T.getBlasThreads(), 1);
  } finally {
    T.setNumThreads(1, 1);
  }
});
