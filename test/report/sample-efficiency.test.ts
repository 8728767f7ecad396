// The report's chart data checked against the trainer's own files: a tiny real `fgrpo compare`
// (SFT, F-GRPO, GRPO and a classic baseline over two seeds) and a tiny single training run. The
// files are read here with plain JSON parsing, independently of the report's loaders; the
// report's data block is parsed back out of the HTML.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runComparison } from "../../src/fgrpo/trainer/compare.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";
import { loadReportInputs, renderReport } from "../../src/report/build.js";
import { writeRunFixture } from "./fixtures.js";
import { chartDataBlock, type ChartData } from "./report-html.js";

let dir: string;
const quiet = { quiet: true, log: () => {} };

function tinyConfig(out: string, patch: { sft?: object; rl?: object } = {}) {
  return parseConfig({
    name: "tiny",
    seed: 0,
    threads: 1,
    blas_threads: 1,
    output_dir: out,
    task: { train_examples: 200, eval_examples: 8 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 12, batch_size: 8, eval_every: 6, warmup_steps: 0, learning_rate: 0.01, ...patch.sft },
    rl: { max_steps: 4, prompts_per_step: 2, num_generations: 4, eval_every: 2, warmup_steps: 0, learning_rate: 0.01, ...patch.rl },
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fgrpo-report-se-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
const json = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

/** A run's RL validation curve of one metric read straight from its metrics file. */
function rlCurve(runDir: string, metric: string, rolloutsPerStep: number): { x: number[]; y: number[] } {
  const records = lines(join(runDir, "rl", "metrics.jsonl"));
  const x: number[] = [];
  const y: number[] = [];
  for (const r of records) {
    if (!("validation" in r)) continue;
    const stepRecord = records.find((s) => s.step === r.step && "rollouts_seen" in s)!;
    // The trainer's field, and what it must be: every step adds prompts × generations.
    assert.equal(stepRecord.rollouts_seen, (r.step as number) * rolloutsPerStep);
    x.push(stepRecord.rollouts_seen as number);
    y.push((r.validation as Record<string, number>)[metric]!);
  }
  return { x, y };
}

function chart(data: ChartData, id: string) {
  const c = data.charts.find((c) => c.id === id);
  assert.ok(c, `chart ${id} in the data block (have ${data.charts.map((c) => c.id).join(", ")})`);
  return c;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

test("compare: one sample-efficiency chart per metric with every method, seeds averaged, SFT as the reference", () => {
  const cmp = join(dir, "cmp");
  runComparison(tinyConfig(join(cmp, "base")), { methods: ["sft", "fgrpo", "grpo", "popularity"], seeds: [0, 1], dir: cmp, split: "valid", examples: 8, hooks: quiet });
  const html = renderReport(loadReportInputs([cmp]));
  const data = chartDataBlock(html);
  const validated = Object.keys((lines(join(cmp, "seed-0", "fgrpo", "rl", "metrics.jsonl")).find((r) => "validation" in r)!.validation as object));
  for (const metric of validated) chart(data, `sample-efficiency-${metric.replace(/[^A-Za-z0-9]+/g, "-").replace(/-$/, "")}`);

  for (const metric of ["ndcg@5", "recall@5"]) {
    const c = chart(data, `sample-efficiency-${metric.replace(/[^A-Za-z0-9]+/g, "-")}`);
    assert.equal(c.xLabel, "RL rollouts seen (prompts × generations × steps)");
    assert.deepEqual(
      c.series.map((s) => [s.name, s.hidden]),
      [
        ["fgrpo (mean of 2 seeds)", false],
        ["fgrpo · seed 0", true],
        ["fgrpo · seed 1", true],
        ["grpo (mean of 2 seeds)", false],
        ["grpo · seed 0", true],
        ["grpo · seed 1", true],
        ["sft: final validation (mean of 2 seeds), where RL starts", false],
      ],
    );
    for (const method of ["fgrpo", "grpo"]) {
      const seeds = [0, 1].map((seed) => {
        const curve = rlCurve(join(cmp, `seed-${seed}`, method), metric, 2 * 4);
        // x = 0: the SFT model this RL run started from (its final validation).
        const start = (json(join(cmp, `seed-${seed}`, "sft", "sft", "final-validation.json")).means as Record<string, number>)[metric]!;
        return { x: [0, ...curve.x], y: [start, ...curve.y] };
      });
      seeds.forEach((expected, seed) => {
        const s = c.series.find((s) => s.name === `${method} · seed ${seed}`)!;
        assert.deepEqual({ x: s.x, y: s.y }, expected, `${metric} ${method} seed ${seed}`);
      });
      const mean = c.series.find((s) => s.name === `${method} (mean of 2 seeds)`)!;
      assert.deepEqual(mean.x, seeds[0]!.x);
      mean.y.forEach((v, i) => assert.ok(close(v!, (seeds[0]!.y[i]! + seeds[1]!.y[i]!) / 2), `${metric} ${method} mean at ${mean.x[i]}`));
      assert.deepEqual(mean.band, { x: seeds[0]!.x, low: seeds[0]!.y.map((v, i) => Math.min(v, seeds[1]!.y[i]!)), high: seeds[0]!.y.map((v, i) => Math.max(v, seeds[1]!.y[i]!)) });
    }
    const sft = [0, 1].map((seed) => (json(join(cmp, `seed-${seed}`, "sft", "results.json")).sft as Record<string, number>)[metric]!);
    const reference = c.series.at(-1)!;
    assert.deepEqual(reference.x, [0, 4 * 2 * 4]);
    assert.ok(reference.y.every((v) => close(v!, (sft[0]! + sft[1]!) / 2)));
  }
  // The classic baseline has no curve, and the page says so.
  assert.match(html, /Not on this chart[^<]*: popularity\./);
});

test("single run: its RL curve starts at its own SFT model; SFT-only runs are plotted against examples seen", () => {
  const run = join(dir, "single");
  runTraining(tinyConfig(run, { sft: { max_steps: 6, eval_every: 3 } }), quiet);
  const sftOnly = join(dir, "sft-only");
  runTraining(parseConfig({ ...tinyConfig(sftOnly, { rl: { max_steps: 0 } }), name: "sft only" }, "test config"), quiet);

  const data = chartDataBlock(renderReport(loadReportInputs([run])));
  const c = chart(data, "sample-efficiency-ndcg-5");
  const curve = rlCurve(run, "ndcg@5", 8);
  const start = (json(join(run, "results.json")).sft as Record<string, number>)["ndcg@5"]!;
  assert.deepEqual(c.series.map((s) => ({ name: s.name, x: s.x, y: s.y })), [{ name: "tiny", x: [0, ...curve.x], y: [start, ...curve.y] }]);

  const only = chartDataBlock(renderReport(loadReportInputs([sftOnly])));
  const s = chart(only, "sample-efficiency-ndcg-5");
  assert.equal(s.xLabel, "SFT examples seen (batch size × steps)");
  const records = lines(join(sftOnly, "sft", "metrics.jsonl"));
  const validations = records.filter((r) => "validation" in r);
  const x = validations.map((v) => records.find((r) => r.step === v.step && "examples_seen" in r)!.examples_seen);
  assert.deepEqual(x, [48, 96], "examples_seen = step × batch size");
  assert.deepEqual(s.series.map((x) => ({ name: x.name, x: x.x, y: x.y })), [{ name: "sft only", x, y: validations.map((v) => (v.validation as Record<string, number>)["ndcg@5"]!) }]);
});

test("compare: a decoupled-rl pipeline is one curve over its selector and ranker RL stages, from the chain its ranker SFT kept", () => {
  const cmp = join(dir, "cmp-decoupled");
  runComparison(tinyConfig(join(cmp, "base"), { rl: { eval_every: 1 } }), { methods: ["sft", "fgrpo", "decoupled-rl", "decoupled-sft"], seeds: [0], dir: cmp, split: "valid", examples: 8, hooks: quiet });
  const html = renderReport(loadReportInputs([cmp]));
  const c = chart(chartDataBlock(html), "sample-efficiency-ndcg-5");
  const run = join(cmp, "seed-0", "decoupled-rl");
  // Expected straight from the stage logs: each validation at the pipeline's rollouts_seen.
  const x: number[] = [];
  const y: number[] = [];
  for (const stage of ["selector-rl", "ranker-rl"]) {
    const records = lines(join(run, stage, "metrics.jsonl"));
    for (const r of records.filter((r) => "validation" in r)) {
      x.push(records.find((s) => s.step === r.step && !("validation" in s))!.rollouts_seen as number);
      y.push((r.validation as Record<string, number>)["ndcg@5"]!);
    }
  }
  assert.deepEqual(x, [8, 16, 24, 32], "two selector steps, then two ranker steps, counted over the pipeline");
  // x = 0: the chain the ranker SFT stage ended on (no load_best: its validation at its last step).
  const ranker = lines(join(run, "ranker", "metrics.jsonl")).filter((r) => "validation" in r).at(-1)!;
  assert.equal(ranker.step, 12);
  const s = c.series.find((s) => s.name === "decoupled-rl");
  assert.ok(s, `decoupled-rl on the chart (have ${c.series.map((s) => s.name).join(", ")})`);
  assert.deepEqual({ x: s.x, y: s.y }, { x: [0, ...x], y: [(ranker.validation as Record<string, number>)["ndcg@5"]!, ...y] });
  assert.ok(c.series.some((s) => s.name === "fgrpo"));
  // The SFT-only pipeline has no RL curve, and the page says so.
  assert.match(html, /Not on this chart[^<]*: decoupled-sft\./);
});

test("a run from another run's checkpoint starts at that run's SFT validation, only on the same task settings", () => {
  const source = join(dir, "source");
  writeRunFixture(source, { name: "source", sftSteps: 6, rlSteps: 0, validateEvery: 3 });
  writeFileSync(join(source, "sft", "final-validation.json"), JSON.stringify({ means: { "ndcg@5": 0.3 } }));
  const first = (changeTask: boolean) => {
    const s = chart(chartDataBlock(renderReport(loadReportInputs([fromCheckpoint(source, changeTask)]))), "sample-efficiency-ndcg-5").series[0]!;
    return [s.x[0], s.y[0]];
  };
  assert.deepEqual(first(false), [0, 0.3]);
  const [x] = first(true);
  assert.ok(x! > 0, "no start point claimed across task settings");
});

/** An RL run whose model.checkpoint is `source`/final, optionally on a different task pool size. */
function fromCheckpoint(source: string, changeTask: boolean): string {
  const out = join(dir, `from-source-${changeTask}`);
  writeRunFixture(out, { name: "from source", sftSteps: 0, rlSteps: 10, validateEvery: 5 });
  rmSync(join(out, "sft"), { recursive: true });
  const config = json(join(out, "config.json"));
  const sourceConfig = json(join(source, "config.json"));
  (config.model as Record<string, unknown>).checkpoint = join(source, "final");
  config.task = changeTask ? { ...(sourceConfig.task as object), pool_size: 50 } : sourceConfig.task;
  writeFileSync(join(out, "config.json"), JSON.stringify(config));
  return out;
}
