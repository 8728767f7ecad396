// Learned models name at most k_max = 5 items; classic baselines rank the whole pool. Every
// metric their tables report must be cut at the same depth, so that a table compares like with
// like (an uncut MRR credited baselines for positives at ranks 6…N).
import { test } from "node:test";
import assert from "node:assert/strict";
import { COMPARABLE_METRICS, evaluateRun, parseMetricName } from "../../src/eval/metrics.js";
import { EVAL_METRICS } from "../../src/fgrpo/trainer/evaluate.js";
import { BASELINE_METRICS } from "../../src/cli/commands/baseline.js";

test("every metric of the model and baseline tables has a cutoff of at most 5, and the baseline's are the model's", () => {
  for (const m of [...EVAL_METRICS.filter((x) => x !== "slate_recall"), ...BASELINE_METRICS]) {
    const k = parseMetricName(m).k;
    assert.ok(k !== undefined && k <= 5, `${m} is cut at 5 or less`);
  }
  for (const m of BASELINE_METRICS) assert.ok(EVAL_METRICS.includes(m), `${m} is also a model metric`);
});

test("a whole-pool ranking and its first five items score the same on every comparable metric", () => {
  const gold = new Map([["q", new Map([["p", 1]])]]);
  const pool = ["a", "b", "c", "d", "e", "f", "p", "g"];
  const whole = evaluateRun(new Map([["q", { id: "q", ranking: pool }]]), gold, COMPARABLE_METRICS, { bootstrapSamples: 0 });
  const top5 = evaluateRun(new Map([["q", { id: "q", ranking: pool.slice(0, 5) }]]), gold, COMPARABLE_METRICS, { bootstrapSamples: 0 });
  assert.deepEqual(whole.perQuery.get("q"), top5.perQuery.get("q"));
});
