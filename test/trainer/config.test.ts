import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyOverrides, clipBounds, describeBatchHierarchy, parseConfig, readConfigFile, resolveDefaults, sameConfig } from "../../src/fgrpo/trainer/config.js";
import { learningRateAt } from "../../src/fgrpo/trainer/schedule.js";
import { clipRangeNote } from "../../src/fgrpo/trainer/compare.js";

test("an empty config takes the documented defaults", () => {
  const c = parseConfig({});
  assert.equal(c.rl.method, "fgrpo");
  assert.equal(c.rl.num_generations, 8);
  assert.equal(c.rl.rank_weight, 1.0);
  assert.equal(c.rl.beta, 0);
  assert.equal(c.rl.scale_rewards, "none");
  assert.equal(c.rl.constrained_decoding, true);
  assert.equal(c.task.pool_size, 20);
  assert.equal(c.layout.n_max, 10);
  assert.equal(c.layout.k_max, 5);
  assert.deepEqual(clipBounds(c.rl), { epsilon: 3e-4, epsilonHigh: 4e-4 });
  assert.deepEqual(clipBounds(parseConfig({ rl: { method: "grpo" } }).rl), { epsilon: 0.2, epsilonHigh: 0.2 });
  assert.deepEqual(clipBounds(parseConfig({ rl: { method: "grpo", epsilon_high: 0.28 } }).rl), { epsilon: 0.2, epsilonHigh: 0.28 });
});

test("rl.epsilon set alone gives a symmetric clip range for every method", () => {
  for (const method of ["fgrpo", "gspo", "gspo_token", "grpo"]) {
    assert.deepEqual(clipBounds(parseConfig({ rl: { method, epsilon: 0.2 } }).rl), { epsilon: 0.2, epsilonHigh: 0.2 }, method);
    assert.deepEqual(clipBounds(parseConfig({ rl: { method, epsilon: 0.2, epsilon_high: 0.28 } }).rl), { epsilon: 0.2, epsilonHigh: 0.28 }, method);
  }
  // The sequence-level presets stay the paper's tiny pair when nothing is set.
  assert.deepEqual(clipBounds(parseConfig({ rl: { method: "gspo" } }).rl), { epsilon: 3e-4, epsilonHigh: 4e-4 });
  assert.deepEqual(clipBounds(parseConfig({ rl: { method: "fgrpo", epsilon_high: 1e-3 } }).rl), { epsilon: 3e-4, epsilonHigh: 1e-3 });
});

test("bad values name the file, the field and the allowed values", () => {
  assert.throws(() => parseConfig({ rl: { method: "ppo" } }, "c.json"), /c\.json, field "rl\.method": must be one of "fgrpo", "grpo", "gspo", "gspo_token", got "ppo"/);
  assert.throws(() => parseConfig({ rl: { num_generations: 1 } }, "c.json"), /field "rl\.num_generations"/);
  assert.throws(() => parseConfig({ rl: { learning_rate: -1 } }, "c.json"), /field "rl\.learning_rate"/);
  assert.throws(() => parseConfig({ rl: { lr: 1 } }, "c.json"), /field "rl": unknown field\(s\) "lr"/);
  assert.throws(() => parseConfig({ layout: { n_max: 3, k_max: 5 } }, "c.json"), /field "layout\.k_max": k_max \(5\) exceeds n_max \(3\)/);
  assert.throws(() => parseConfig({ task: { pool_size: 5 } }, "c.json"), /field "layout\.n_max".*pool size/);
  assert.throws(() => parseConfig({ rl: { prompts_per_step: 3, num_minibatches: 2 } }, "c.json"), /field "rl\.num_minibatches"/);
  assert.throws(() => parseConfig({ model: { hidden_size: 100, num_heads: 3 } }, "c.json"), /field "model\.hidden_size"/);
});

test("--set overrides parse JSON values and create nested fields", () => {
  const raw = applyOverrides({ rl: { method: "grpo" } }, ["rl.method=fgrpo", "rl.max_steps=70", "task.data=[\"a\",\"b\"]", "name=x y"]);
  const c = parseConfig(raw);
  assert.equal(c.rl.method, "fgrpo");
  assert.equal(c.rl.max_steps, 70);
  assert.deepEqual(c.task.data, ["a", "b"]);
  assert.equal(c.name, "x y");
  assert.throws(() => applyOverrides({}, ["novalue"]), /key=value/);
});

test("config files: JSON errors name the file and line", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-cfg-"));
  const f = join(dir, "bad.json");
  writeFileSync(f, '{\n  "rl": {\n    "method": "fgrpo",,\n  }\n}\n');
  assert.throws(() => readConfigFile(f), /bad\.json:3: invalid JSON/);
  assert.throws(() => readConfigFile(join(dir, "missing.json")), /missing\.json: cannot read config/);
});

test("the batch hierarchy says what a step does", () => {
  const c = parseConfig({ rl: { prompts_per_step: 4, num_generations: 8, num_minibatches: 2, num_iterations: 3 } });
  const s = describeBatchHierarchy(c.rl);
  assert.match(s, /4 prompts × 8 generations = 32 rollouts/);
  assert.match(s, /2 minibatch\(es\) of 16 rollouts × 3 pass\(es\) = 6 optimizer update\(s\)/);
  assert.match(describeBatchHierarchy(parseConfig({}).rl), /on-policy/);
});

test("learning-rate schedules: warm-up then constant, linear or cosine decay", () => {
  assert.equal(learningRateAt(0, 100, 1, 10, "cosine"), 0.1);
  assert.equal(learningRateAt(9, 100, 1, 10, "cosine"), 1);
  assert.equal(learningRateAt(10, 100, 1, 10, "cosine"), 1);
  assert.ok(Math.abs(learningRateAt(55, 100, 1, 10, "cosine") - 0.5) < 1e-12);
  assert.ok(Math.abs(learningRateAt(55, 100, 1, 10, "linear") - 0.5) < 1e-12);
  assert.equal(learningRateAt(50, 100, 2, 0, "constant"), 2);
  assert.ok(learningRateAt(100, 100, 1, 10, "cosine") < 1e-12);
});

test("configs/demo.json is the demo's embedded config, and it validates", async () => {
  const { DEMO_CONFIG } = await import("../../src/fgrpo/trainer/demo-config.js");
  const { readFileSync } = await import("node:fs");
  const file = new URL("../../../configs/demo.json", import.meta.url);
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), DEMO_CONFIG);
  assert.equal(parseConfig(DEMO_CONFIG).rl.method, "fgrpo");
});

test("compare says which clip range a base rl.epsilon gives each method", () => {
  assert.equal(clipRangeNote(parseConfig({}), ["fgrpo", "grpo"]), null);
  const note = clipRangeNote(parseConfig({ rl: { epsilon: 0.2 } }), ["fgrpo", "gspo", "grpo", "sft", "popularity"]);
  assert.match(note!, /fgrpo \[0\.8, 1\.2\], gspo \[0\.8, 1\.2\], grpo \[0\.8, 1\.2\]/);
});

test("every configs/experiments/*.json validates", async () => {
  const { readdirSync } = await import("node:fs");
  const dir = new URL("../../../configs/experiments/", import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 4);
  for (const f of files) parseConfig(readConfigFile(new URL(f, dir).pathname), f);
});

test("a stored config and the same config with its nulls resolved are the same run; other values are not", () => {
  const printed = (raw: unknown, taskVocab = true): unknown => JSON.parse(JSON.stringify(resolveDefaults(parseConfig(raw), taskVocab)));
  for (const raw of [{}, { task: { task: "qa" } }, { rl: { method: "grpo" } }, { task: { first_stage: null } }]) {
    assert.ok(sameConfig(raw, printed(raw)), JSON.stringify(raw));
    assert.ok(sameConfig(printed(raw), raw), JSON.stringify(raw));
  }
  assert.ok(!sameConfig({}, { task: { pool_order: "shuffled" } }), "rec with a first stage reranks its order");
  assert.ok(!sameConfig({}, { sft: { dropout: 0 } }));
  assert.ok(!sameConfig({ task: { task: "qa" } }, { task: { task: "qa" }, sft: { dropout: 0.5 } }), "QA resolves to no dropout");
  // A text checkpoint resolves dropout and history loss to 0, so 0 is its null and 0.5 is not.
  const text = mkdtempSync(join(tmpdir(), "fgrpo-text-"));
  writeFileSync(join(text, "tokenizer.json"), "{}");
  const withText = { model: { checkpoint: text } };
  assert.ok(sameConfig(withText, { ...withText, sft: { dropout: 0, history_loss_weight: 0 } }));
  assert.ok(!sameConfig(withText, { ...withText, sft: { dropout: 0.5 } }));
  assert.ok(sameConfig(withText, printed(withText, false)));
});
