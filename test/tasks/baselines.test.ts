import { test } from "node:test";
import assert from "node:assert/strict";
import { Bm25Index } from "../../src/tasks/bm25.js";
import { Bm25Ranker, ItemKnnModel, makeBaseline, MarkovModel, PopularityModel, RandomRanker, RetrieverOrderRanker } from "../../src/tasks/baselines/index.js";
import { loadTaskData } from "../../src/tasks/task-data.js";
import { evaluateRun } from "../../src/eval/metrics.js";
import type { PoolRanker } from "../../src/tasks/baselines/types.js";
import type { RankingExample } from "../../src/tasks/types.js";

const ex = (pool: string[], history: string[] = []): RankingExample => ({
  id: "e", task: "rec", history, pool: pool.map((id) => ({ id, text: id })), relevant: new Map([[pool[0]!, 1]]),
});
const train = [["a", "b", "c"], ["a", "b"], ["b", "c"], ["a", "d"], ["d", "e"]];

test("popularity ranks by training counts; ties keep pool order", () => {
  const m = new PopularityModel().fit(train);
  assert.deepEqual(m.rankPool(ex(["e", "c", "b", "z"])), ["b", "c", "e", "z"]);
  assert.deepEqual(m.recommend([], 2, new Set(["b"])), ["a", "c"]);
});

test("item-kNN: cosine of co-occurrence, summed over the recent history", () => {
  const m = new ItemKnnModel().fit(train);
  // a and b co-occur in 2 sequences; a in 3, b in 3 → 2/3.
  assert.ok(Math.abs(m.similarity("a", "b") - 2 / 3) < 1e-12);
  assert.equal(m.similarity("a", "e"), 0);
  assert.deepEqual(m.rankPool(ex(["e", "c", "b"], ["a"])), ["b", "c", "e"]);
  // c and d tie at 1/√6: ties by id.
  assert.deepEqual(m.recommend(["a"], 10, new Set(["a"])), ["b", "c", "d"]);
});

test("Markov: transitions from the last history item", () => {
  const m = new MarkovModel().fit(train);
  assert.equal(m.probability("a", "b"), 2 / 3);
  assert.deepEqual(m.rankPool(ex(["c", "d", "b"], ["x", "a"])), ["b", "d", "c"]);
  assert.deepEqual(m.recommend(["d"], 5, new Set()), ["e"]);
});

test("random ranker: a permutation, seeded, independent of call order", () => {
  const pool = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const r = new RandomRanker(4);
  const a = r.rankPool(ex(pool));
  assert.deepEqual(a.slice().sort(), pool.slice().sort());
  assert.deepEqual(new RandomRanker(4).rankPool(ex(pool)), a);
  assert.notDeepEqual(new RandomRanker(5).rankPool(ex(pool)), a);
});

test("retriever order ranker needs a retrieverRank", () => {
  const e = { ...ex(["a", "b"]), retrieverRank: ["b", "a"] };
  assert.deepEqual(new RetrieverOrderRanker().rankPool(e), ["b", "a"]);
  assert.throws(() => new RetrieverOrderRanker().rankPool(ex(["a"])), /retrieverRank/);
  assert.throws(() => makeBaseline("qa", "itemknn"), /unknown qa baseline/);
});

test("BM25: k1/b defaults, idf, term saturation, and ranking a QA pool", () => {
  const docs = ["the cat sat", "dog dog dog", "cat and dog", "bird"];
  const idx = new Bm25Index(docs);
  // idf(cat) = ln(1 + (4 − 2 + 0.5) / (2 + 0.5)); lengths without stop words 2, 3, 2, 1 (average 2).
  const idf = Math.log(1 + 2.5 / 2.5);
  const norm = 1.2 * (1 - 0.75 + (0.75 * 2) / 2);
  assert.ok(Math.abs(idx.scores("cat")[0]! - (idf * 2.2) / (1 + norm)) < 1e-12);
  assert.equal(idx.scores("cat")[3], 0);
  assert.ok(idx.scores("dog")[1]! > idx.scores("dog")[2]!);
  const qa: RankingExample = {
    id: "q", task: "qa", question: "Which dog barks?",
    pool: [{ id: "A", text: "A: cats purr" }, { id: "B", text: "B: the dog barks loudly" }], relevant: new Map([["B", 1]]),
  };
  assert.deepEqual(new Bm25Ranker().rankPool(qa), ["B", "A"]);
  assert.deepEqual(new Bm25Ranker().fit(docs).rankPool(qa), ["B", "A"]);
});

function score(examples: RankingExample[], ranker: PoolRanker): Record<string, number> {
  const run = new Map(examples.map((e) => [e.id, { id: e.id, ranking: ranker.rankPool(e) }]));
  const s = evaluateRun(run, new Map(examples.map((e) => [e.id, e.relevant])), ["ndcg@5", "hit@5", "mrr"], { bootstrapSamples: 0 });
  return Object.fromEntries(Object.entries(s.metrics).map(([k, v]) => [k, v.mean]));
}

test("sanity on bundled Games test users, 19 random negatives: popularity and item-kNN beat random by a wide margin", () => {
  const games = loadTaskData({ task: "rec", negatives: "random", seed: 0 });
  const examples = games.examples("test");
  const inputs = games.baselineInputs("test");
  const random = score(examples, makeBaseline("rec", "random", inputs));
  const popularity = score(examples, makeBaseline("rec", "popularity", inputs));
  const itemknn = score(examples, makeBaseline("rec", "itemknn", inputs));
  // Random: hit@5 ≈ 5/20 and MRR ≈ H(20)/20 ≈ 0.18 in expectation.
  assert.ok(Math.abs(random["hit@5"]! - 0.25) < 0.06, `random hit@5 ${random["hit@5"]}`);
  for (const [name, m] of [["popularity", popularity], ["itemknn", itemknn]] as const) {
    assert.ok(m["ndcg@5"]! > random["ndcg@5"]! + 0.15, `${name} ndcg@5 ${m["ndcg@5"]} vs random ${random["ndcg@5"]}`);
    assert.ok(m.mrr! > random.mrr! + 0.15, `${name} mrr ${m.mrr} vs random ${random.mrr}`);
  }
});

test("sanity on bundled HotpotQA: BM25 beats random", () => {
  const hotpot = loadTaskData({ task: "qa", seed: 0 });
  const examples = hotpot.examples("test");
  const inputs = hotpot.baselineInputs("test");
  const random = score(examples, makeBaseline("qa", "random", inputs));
  const bm25 = score(examples, makeBaseline("qa", "bm25", inputs));
  assert.ok(bm25["ndcg@5"]! > random["ndcg@5"]! + 0.3, `bm25 ${bm25["ndcg@5"]} vs random ${random["ndcg@5"]}`);
});
