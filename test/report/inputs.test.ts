import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/util/errors.js";
import { readPhaseMetrics } from "../../src/report/metrics-file.js";
import { loadComparison, loadInput, loadRun } from "../../src/report/inputs.js";
import { loadReportInputs } from "../../src/report/build.js";
import { writeComparisonFixture, writeRunFixture } from "./fixtures.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-report-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts that `fn` throws an InputError whose message contains every fragment. */
function assertInputError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message "${e.message}" lacks "${f}"`);
    return true;
  });
}

const SFT_STEP = JSON.stringify({ step: 1, phase: "sft", loss: 2.5, token_accuracy: 0.4, grad_norm: 1.2, learning_rate: 0.003 });

function writeMetrics(dir: string, lines: string[]): string {
  const file = join(dir, "metrics.jsonl");
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

test("metrics file: step, validation and warning records; nulls, non_finite and unknown keys kept", (t) => {
  const dir = tempDir(t);
  const file = writeMetrics(dir, [
    SFT_STEP,
    "",
    JSON.stringify({ step: 2, phase: "sft", loss: null, non_finite: ["loss"], some_new_key: 7, a_label: "text" }),
    JSON.stringify({ step: 2, phase: "sft", validation: { "ndcg@5": 0.31, slate_recall: null }, validity: { ok: 9, wrong_format: 1 }, best: true }),
    JSON.stringify({ step: 2, warning: "loss spike" }),
  ]);
  const m = readPhaseMetrics(file, "sft");
  assert.deepEqual(m.steps.map((s) => s.step), [1, 2]);
  assert.equal(m.steps[1]!.values.loss, null);
  assert.deepEqual(m.steps[1]!.nonFinite, ["loss"]);
  assert.equal(m.steps[1]!.values.some_new_key, 7);
  assert.ok(!("a_label" in m.steps[1]!.values), "non-numeric unknown keys are not plotted");
  assert.deepEqual(m.validations[0]!.metrics, { "ndcg@5": 0.31, slate_recall: null });
  assert.deepEqual(m.validations[0]!.validity, { ok: 9, wrong_format: 1 });
  assert.equal(m.validations[0]!.best, true);
  assert.deepEqual(m.warnings.map((w) => [w.step, w.message, w.line]), [[2, "loss spike", 5]]);
});

test("metrics file: records come back in step order", (t) => {
  const dir = tempDir(t);
  const file = writeMetrics(dir, [JSON.stringify({ step: 3, phase: "sft", loss: 1 }), SFT_STEP]);
  assert.deepEqual(readPhaseMetrics(file, "sft").steps.map((s) => s.step), [1, 3]);
});

test("metrics file: a malformed line is an error naming file and line", (t) => {
  const dir = tempDir(t);
  const cases: [string, string[]][] = [
    ['{"step": 2, "phase": "sft", "loss": 1.0', ["invalid JSON"]],
    ["[1, 2]", ["expected a JSON object"]],
    ['{"phase": "sft", "loss": 1}', ['field "step"']],
    ['{"step": 1.5, "phase": "sft", "loss": 1}', ['field "step"']],
    ['{"step": 2, "phase": "rl", "loss": 1}', ['field "phase"', 'expected phase "sft"']],
    ['{"step": 2, "phase": "sft", "validation": {"ndcg@5": "high"}}', ['field "validation.ndcg@5"']],
    ['{"step": 2, "phase": "sft", "validity": {"ok": 2.5}}', ['field "validity.ok"']],
    ['{"step": 2, "warning": 42}', ['field "warning"']],
    ['{"step": 2, "phase": "sft", "loss": 1, "non_finite": "loss"}', ['field "non_finite"']],
    [SFT_STEP, ["repeats the one on line 1"]],
  ];
  for (const [bad, fragments] of cases) {
    const file = writeMetrics(dir, [SFT_STEP, "", bad]);
    assertInputError(() => readPhaseMetrics(file, "sft"), `${file}:3`, ...fragments);
  }
});

test("run directory: loads config, both phases and results", (t) => {
  const dir = tempDir(t);
  writeRunFixture(join(dir, "run"), { name: "demo", sftSteps: 12, rlSteps: 20, validateEvery: 5 });
  const run = loadRun(join(dir, "run"));
  assert.equal(run.label, "demo");
  assert.equal(run.sft!.steps.length, 12);
  assert.equal(run.rl!.steps.length, 20);
  assert.deepEqual(run.rl!.validations.map((v) => v.step), [5, 10, 15, 20]);
  assert.equal(run.rl!.warnings.length, 1);
  assert.equal(run.results!.eval_examples, 50);
  assert.equal(loadInput(join(dir, "run")).kind, "run");
});

test("run directory: one phase may be missing, results.json too (an unfinished run)", (t) => {
  const dir = tempDir(t);
  const run = join(dir, "run");
  writeRunFixture(run, { name: "demo", sftSteps: 5, rlSteps: 5 });
  rmSync(join(run, "sft"), { recursive: true });
  rmSync(join(run, "results.json"));
  const loaded = loadRun(run);
  assert.equal(loaded.sft, null);
  assert.equal(loaded.results, null);
  assert.equal(loaded.rl!.steps.length, 5);
});

test("run directory: missing or broken files are errors naming them", (t) => {
  const dir = tempDir(t);
  assertInputError(() => loadInput(join(dir, "nope")), join(dir, "nope"), "no such directory");
  writeFileSync(join(dir, "file.txt"), "x");
  assertInputError(() => loadInput(join(dir, "file.txt")), "not a directory");
  mkdirSync(join(dir, "empty"));
  assertInputError(() => loadInput(join(dir, "empty")), "neither config.json");

  const run = join(dir, "run");
  writeRunFixture(run, { name: "demo", sftSteps: 5, rlSteps: 5 });
  writeFileSync(join(run, "results.json"), JSON.stringify({ sft: { "ndcg@5": "0.3" }, rl: null }));
  assertInputError(() => loadRun(run), join(run, "results.json"), 'field "sft.ndcg@5"');
  writeFileSync(join(run, "results.json"), '{\n "sft": null\n "rl": null\n}');
  assertInputError(() => loadRun(run), `${join(run, "results.json")}:3`, "invalid JSON");
  rmSync(join(run, "results.json"));

  appendFileSync(join(run, "rl", "metrics.jsonl"), "not json\n");
  const lines = readFileSync(join(run, "rl", "metrics.jsonl"), "utf8").trimEnd().split("\n").length;
  assertInputError(() => loadRun(run), `${join(run, "rl", "metrics.jsonl")}:${lines}`);

  rmSync(join(run, "sft"), { recursive: true });
  rmSync(join(run, "rl"), { recursive: true });
  assertInputError(() => loadRun(run), "neither sft/metrics.jsonl nor rl/metrics.jsonl");
  writeFileSync(join(run, "config.json"), "[]");
  assertInputError(() => loadRun(run), join(run, "config.json"), "expected a JSON object");
});

test("comparison directory: rows, resolved runs, and the runs loaded once each", (t) => {
  const dir = tempDir(t);
  const fixture = writeComparisonFixture(join(dir, "cmp"));
  const c = loadComparison(join(dir, "cmp"));
  assert.deepEqual(c.comparison.rows.map((r) => r.method), ["fgrpo", "grpo"]);
  assert.deepEqual(c.runDirs.flat(), fixture.runs);
  // A run given directly as well as through the comparison appears once.
  const inputs = loadReportInputs([join(dir, "cmp"), fixture.runs[0]!]);
  assert.equal(inputs.comparisons.length, 1);
  assert.deepEqual(inputs.runs.map((r) => r.label), ["fgrpo-s0", "fgrpo-s1", "grpo-s0", "grpo-s1"]);
});

test("comparison directory: inconsistent files are errors naming the field", (t) => {
  const dir = tempDir(t);
  const cmp = join(dir, "cmp");
  const fixture = writeComparisonFixture(cmp);
  const file = join(cmp, "comparison.json");
  const edit = (change: (c: Record<string, unknown>) => void) => {
    const c = structuredClone(fixture.comparison) as unknown as Record<string, unknown>;
    change(c);
    writeFileSync(file, JSON.stringify(c));
  };
  edit((c) => (c.reference = "gspo"));
  assertInputError(() => loadComparison(cmp), file, 'field "reference"', "gspo");
  edit((c) => ((c.rows as { runs: string[] }[])[1]!.runs[1] = "runs/missing"));
  assertInputError(() => loadComparison(cmp), 'field "rows[1].runs[1]"', "runs/missing");
  edit((c) => ((c.rows as { metrics: Record<string, { mean: unknown }> }[])[0]!.metrics["ndcg@5"]!.mean = "0.4"));
  assertInputError(() => loadComparison(cmp), 'field "rows[0].metrics.ndcg@5.mean"');
  edit((c) => (c.rows = [...(c.rows as object[]), (c.rows as object[])[0]]));
  assertInputError(() => loadComparison(cmp), 'method "fgrpo" has two rows');
});

test("labels: runs sharing a name are told apart by seed, then by directory", (t) => {
  const dir = tempDir(t);
  for (const [sub, seed] of [["a", 0], ["b", 1], ["c", 1]] as const) writeRunFixture(join(dir, sub), { name: "same", seed, sftSteps: 3, rlSteps: 3 });
  const inputs = loadReportInputs([join(dir, "a"), join(dir, "b"), join(dir, "c")]);
  assert.deepEqual(inputs.runs.map((r) => r.label), ["same (seed 0)", join(dir, "b"), join(dir, "c")]);
});

test("metrics file: the trainer's early-stopping note is not a second record of its step", (t) => {
  const dir = tempDir(t);
  const file = writeMetrics(dir, [
    SFT_STEP,
    JSON.stringify({ step: 2, phase: "sft", loss: 2.1, token_accuracy: 0.5, examples_seen: 64 }),
    JSON.stringify({ step: 2, phase: "sft", validation: { "ndcg@5": 0.3 }, best: false }),
    JSON.stringify({ step: 2, phase: "sft", early_stopped: true, best_step: 1 }),
  ]);
  const m = readPhaseMetrics(file, "sft");
  assert.deepEqual(m.steps.map((s) => s.step), [1, 2]);
  assert.equal(m.steps[1]!.values.examples_seen, 64);
  assert.deepEqual(m.earlyStop, { kind: "early_stop", step: 2, line: 4, bestStep: 1 });
  writeFileSync(file, JSON.stringify({ step: 2, phase: "sft", early_stopped: true, best_step: "one" }) + "\n");
  assertInputError(() => readPhaseMetrics(file, "sft"), `${file}:1`, "best_step");
});
