import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_METRICS,
  evaluateRun,
  pairedTest,
  parseMetricName,
  scoreQuery,
  type Grades,
  type QueryRun,
} from "../../src/eval/metrics.js";

const L3 = Math.log2(3); // 1.5849625
const L5 = Math.log2(5);
const L6 = Math.log2(6);

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: got ${actual}, expected ${expected}`);
}

function grades(obj: Record<string, number>): Grades {
  return new Map(Object.entries(obj));
}

test("binary relevance, |G| = 3, relevant at ranks 2, 4, 5", () => {
  const gold = grades({ a: 1, b: 1, c: 1 });
  const ranking = ["x", "a", "y", "b", "c"];
  // recall@k = relevant in top k / 3
  close(scoreQuery("recall@1", ranking, gold), 0, "recall@1");
  close(scoreQuery("recall@3", ranking, gold), 1 / 3, "recall@3");
  close(scoreQuery("recall@5", ranking, gold), 1, "recall@5");
  // precision@k = relevant in top k / k
  close(scoreQuery("precision@1", ranking, gold), 0, "precision@1");
  close(scoreQuery("precision@3", ranking, gold), 1 / 3, "precision@3");
  close(scoreQuery("precision@5", ranking, gold), 3 / 5, "precision@5");
  close(scoreQuery("hit@1", ranking, gold), 0, "hit@1");
  close(scoreQuery("hit@3", ranking, gold), 1, "hit@3");
  close(scoreQuery("mrr", ranking, gold), 1 / 2, "mrr");
  close(scoreQuery("mrr@1", ranking, gold), 0, "mrr@1");
  // DCG@3 = 1/log2(3); IDCG@3 = 1 + 1/log2(3) + 1/log2(4)
  close(scoreQuery("ndcg@3", ranking, gold), 1 / L3 / (1 + 1 / L3 + 0.5), "ndcg@3");
  // DCG@5 = 1/log2 3 + 1/log2 5 + 1/log2 6; IDCG@5 = IDCG@3 (only 3 relevant) ≈ 0.67973
  close(scoreQuery("ndcg@5", ranking, gold), (1 / L3 + 1 / L5 + 1 / L6) / (1 + 1 / L3 + 0.5), "ndcg@5");
});

test("graded relevance: linear (trec_eval) and exponential gain", () => {
  const gold = grades({ a: 3, b: 2, c: 1, d: 0 });
  const ranking = ["c", "a", "d", "b"];
  // linear: DCG@3 = 1 + 3/log2 3 + 0; IDCG@3 = 3 + 2/log2 3 + 1/2 → 0.60749
  close(scoreQuery("ndcg@3", ranking, gold), (1 + 3 / L3) / (3 + 2 / L3 + 0.5), "ndcg@3");
  // exponential gains 2^g − 1: c=1, a=7, b=3. DCG@3 = 1 + 7/log2 3; IDCG@3 = 7 + 3/log2 3 + 1/2 → 0.57667
  close(scoreQuery("ndcg_exp@3", ranking, gold), (1 + 7 / L3) / (7 + 3 / L3 + 0.5), "ndcg_exp@3");
  // grade 0 (d) is judged but not relevant: |G| = 3
  close(scoreQuery("recall@3", ranking, gold), 2 / 3, "recall@3");
  close(scoreQuery("precision@3", ranking, gold), 2 / 3, "precision@3");
  close(scoreQuery("mrr", ranking, gold), 1, "mrr");
});

test("ties in gold grades and |G| > k", () => {
  const gold = grades({ a: 2, b: 2, c: 1 });
  // any ordering of the two grade-2 documents is ideal
  close(scoreQuery("ndcg@2", ["b", "a", "c"], gold), 1, "tied ideal");
  close(scoreQuery("ndcg@2", ["a", "b"], gold), 1, "tied ideal, other order");
  // DCG@2 = 1 + 2/log2 3; IDCG@2 = 2 + 2/log2 3 → 0.69342
  close(scoreQuery("ndcg@2", ["c", "b"], gold), (1 + 2 / L3) / (2 + 2 / L3), "ndcg@2");
  // |G| = 3 > k = 1: IDCG@1 = 2, recall@1 = 1/3, precision@1 = 1
  close(scoreQuery("ndcg@1", ["a"], gold), 1, "ndcg@1");
  close(scoreQuery("ndcg@1", ["c"], gold), 1 / 2, "ndcg@1 grade 1 of 2");
  close(scoreQuery("recall@1", ["a"], gold), 1 / 3, "recall@1");
  close(scoreQuery("precision@1", ["a"], gold), 1, "precision@1");
});

test("empty ranking, short ranking, no relevant documents", () => {
  const gold = grades({ a: 1, b: 1 });
  for (const m of [...DEFAULT_METRICS, "ndcg_exp@5"]) close(scoreQuery(m, [], gold), 0, `empty ${m}`);
  // precision divides by k even when the list is shorter (trec_eval P_k)
  close(scoreQuery("precision@5", ["a"], gold), 1 / 5, "precision@5 of a 1-item list");
  const none = grades({ a: 0 });
  for (const m of DEFAULT_METRICS) close(scoreQuery(m, ["a", "b"], none), 0, `no relevant ${m}`);
});

test("duplicates in a ranking count once: later copies drop and the list closes up", () => {
  const gold = grades({ a: 1, b: 1 });
  const ranking = ["a", "a", "b"];
  close(scoreQuery("precision@2", ranking, gold), 1, "precision@2 sees [a, b]");
  close(scoreQuery("recall@2", ranking, gold), 1, "recall@2");
  close(scoreQuery("ndcg@2", ranking, gold), 1, "ndcg@2");
  close(scoreQuery("precision@3", ["x", "x", "x"], gold), 0, "repeated junk");
});

test("slate_recall is order-free recall of the slate and needs a slate", () => {
  const gold = grades({ a: 1, b: 1, c: 1 });
  close(scoreQuery("slate_recall", ["a"], gold, ["x", "b", "a"]), 2 / 3, "slate_recall");
  assert.throws(() => scoreQuery("slate_recall", ["a"], gold), /slate/);
});

test("metric names: case-insensitive, lower-case out, unknown names list the valid ones", () => {
  assert.deepEqual(parseMetricName("NDCG@5"), { name: "ndcg@5", kind: "ndcg", k: 5, gain: "linear" });
  assert.deepEqual(parseMetricName("ndcg_exp@3"), { name: "ndcg_exp@3", kind: "ndcg", k: 3, gain: "exponential" });
  assert.equal(parseMetricName("mrr").k, undefined);
  for (const bad of ["ndcg", "ndcg@0", "recall@x", "map", "p@5"]) {
    assert.throws(() => parseMetricName(bad), /valid metrics: recall@K/, bad);
  }
});

test("evaluateRun: missing queries score 0, counts, unjudged documents, CIs", () => {
  const gold = new Map<string, Grades>([
    ["q1", grades({ a: 1 })],
    ["q2", grades({ b: 1, c: 1 })],
    ["q3", grades({ d: 1 })],
  ]);
  const run = new Map<string, QueryRun>([
    ["q1", { id: "q1", ranking: ["a", "z"], slate: ["a", "z", "y"] }],
    ["q2", { id: "q2", ranking: ["x", "c", "c"], slate: ["x", "c"] }],
    ["q9", { id: "q9", ranking: ["a"] }],
  ]);
  const s = evaluateRun(run, gold, ["recall@1", "recall@2", "mrr", "slate_recall"], { bootstrapSamples: 200, seed: 3 });
  assert.equal(s.numQueries, 3);
  assert.equal(s.missingFromRun, 1);
  assert.equal(s.notInGold, 1);
  assert.equal(s.unjudgedInRun, 2); // z (q1), x (q2); the duplicate c counts once and is judged
  close(s.metrics["recall@1"]!.mean, (1 + 0 + 0) / 3, "recall@1");
  close(s.metrics["recall@2"]!.mean, (1 + 0.5 + 0) / 3, "recall@2");
  close(s.metrics["mrr"]!.mean, (1 + 0.5 + 0) / 3, "mrr");
  close(s.metrics["slate_recall"]!.mean, (1 + 0.5 + 0) / 3, "slate_recall");
  assert.deepEqual(s.perQuery.get("q3"), { "recall@1": 0, "recall@2": 0, mrr: 0, slate_recall: 0 });
  for (const m of Object.values(s.metrics)) {
    assert.ok(m.ciLow <= m.mean && m.mean <= m.ciHigh, JSON.stringify(m));
    assert.ok(m.ciLow >= 0 && m.ciHigh <= 1);
  }
  const again = evaluateRun(run, gold, ["recall@2"], { bootstrapSamples: 200, seed: 3 });
  assert.deepEqual(again.metrics["recall@2"], s.metrics["recall@2"]);
  assert.throws(() => evaluateRun(new Map([["q1", { id: "q1", ranking: ["a"] }]]), gold, ["slate_recall"]), /q1.*no slate/);
});

test("bootstrap CI collapses for constant scores and widens with spread", () => {
  const gold = new Map<string, Grades>();
  const run = new Map<string, QueryRun>();
  for (let i = 0; i < 40; i++) {
    gold.set(`q${i}`, grades({ a: 1 }));
    run.set(`q${i}`, { id: `q${i}`, ranking: i % 2 === 0 ? ["a"] : ["b"] });
  }
  const s = evaluateRun(run, gold, ["hit@1"], { seed: 1 });
  close(s.metrics["hit@1"]!.mean, 0.5, "mean");
  // sd of a mean of 40 fair coins is 0.079: the 95% interval is roughly ±0.155
  assert.ok(s.metrics["hit@1"]!.ciLow > 0.25 && s.metrics["hit@1"]!.ciLow < 0.42, `ciLow ${s.metrics["hit@1"]!.ciLow}`);
  assert.ok(s.metrics["hit@1"]!.ciHigh > 0.58 && s.metrics["hit@1"]!.ciHigh < 0.75, `ciHigh ${s.metrics["hit@1"]!.ciHigh}`);
  const allHit = new Map([...run.keys()].map((id) => [id, { id, ranking: ["a"] }]));
  assert.deepEqual(evaluateRun(allHit, gold, ["hit@1"], { seed: 1 }).metrics["hit@1"], { mean: 1, ciLow: 1, ciHigh: 1 });
});

test("pairedTest: identical systems, a consistent gain, and symmetric noise", () => {
  const base = Array.from({ length: 30 }, (_, i) => (i % 7) / 7);
  const same = pairedTest(base, base, { samples: 2000 });
  assert.equal(same.meanDiff, 0);
  assert.equal(same.pValue, 1);
  const better = base.map((x) => x + 0.1);
  const gain = pairedTest(better, base, { samples: 2000, seed: 4 });
  close(gain.meanDiff, 0.1, "meanDiff");
  assert.ok(gain.pValue < 0.01, `p ${gain.pValue}`);
  assert.ok(gain.ciLow <= 0.1 + 1e-12 && gain.ciHigh >= 0.1 - 1e-12);
  const noisy = base.map((x, i) => x + (i % 2 === 0 ? 0.3 : -0.3));
  const noise = pairedTest(noisy, base, { samples: 2000, seed: 4 });
  assert.ok(noise.pValue > 0.5, `p ${noise.pValue}`);
  assert.throws(() => pairedTest([1], [1, 2]), /one pair per query/);
});
