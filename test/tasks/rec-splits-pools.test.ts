import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitLeaveOneOut } from "../../src/tasks/rec/splits.js";
import { buildRecExamples, RecPoolBuilder } from "../../src/tasks/rec/examples.js";
import { allocateNegatives, parseNegatives } from "../../src/tasks/pools.js";
import type { RecDataset } from "../../src/tasks/rec/dataset.js";
import { loadRecBoleDir } from "../../src/tasks/rec/recbole.js";
import { loadRecData } from "../../src/tasks/rec/load.js";
import { BUNDLED_GAMES_DIR } from "../../src/tasks/bundled.js";
import { fixture } from "./fixture-paths.js";

function dataset(sequences: Record<string, string[]>, candidates?: Record<string, string[]>): RecDataset {
  const d: RecDataset = { name: "t", sequences: new Map(Object.entries(sequences)), titles: new Map(), report: { files: [], records: 0, skipped: [] } };
  if (candidates) d.candidates = new Map(Object.entries(candidates));
  return d;
}

test("leave-one-out: valid/test targets are the last two items; training prefixes end before the valid target", () => {
  const s = splitLeaveOneOut(dataset({ a: ["1", "2", "3", "4", "5"], b: ["6", "7"] }));
  assert.deepEqual(s.test, [{ user: "a", position: 4, history: ["1", "2", "3", "4"], target: "5" }]);
  assert.deepEqual(s.valid, [{ user: "a", position: 3, history: ["1", "2", "3"], target: "4" }]);
  assert.deepEqual(s.train.map((t) => [t.history.join(""), t.target]), [["1", "2"], ["12", "3"]]);
  assert.equal(s.tooShort, 1);
  assert.deepEqual(s.trainSequences, [["1", "2", "3"], ["6", "7"]]);
});

test("no leakage across splits (property): a user's valid/test positions never reach its training data", () => {
  const seqs = fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 0, max: 30 }).map(String), { minLength: 1, maxLength: 12 }), { maxKeys: 8 });
  fc.assert(
    fc.property(seqs, fc.boolean(), (raw, holdOut) => {
      const d = dataset(raw);
      const s = splitLeaveOneOut(d, { evalUsers: new Set(Object.keys(raw).slice(0, 3)), holdOutEvalUsers: holdOut });
      const evalPos = new Map<string, number>();
      for (const v of s.valid) evalPos.set(v.user, v.position);
      for (const t of s.train) {
        const seq = d.sequences.get(t.user)!;
        assert.deepEqual([...t.history, t.target], seq.slice(0, t.position + 1));
        const vp = evalPos.get(t.user);
        if (vp !== undefined) {
          assert.ok(!holdOut, "a held-out user has a training example");
          assert.ok(t.position < vp, "a training target at or after the valid target");
        }
      }
      for (const v of s.valid) assert.equal(v.position, d.sequences.get(v.user)!.length - 2);
    }),
  );
});

test("candidate-file users are evaluated and held out of training by default", () => {
  const d = loadRecBoleDir(fixture("recbole"));
  const s = splitLeaveOneOut(d);
  assert.deepEqual(s.test.map((t) => t.user).sort(), ["u1", "u3"]);
  assert.equal(s.heldOutUsers, 2);
  assert.ok(s.train.every((t) => t.user !== "u1" && t.user !== "u3"));
  assert.equal(s.trainSequences.length, 2);
});

test("negative mixes allocate exact counts", () => {
  assert.deepEqual([...allocateNegatives("random", 19)], [["random", 19]]);
  assert.deepEqual(Object.fromEntries(allocateNegatives({ retriever: 10, popularity: 5, random: 4 }, 19)), { retriever: 10, popularity: 5, random: 4 });
  const m = allocateNegatives({ retriever: 1, random: 1 }, 19);
  assert.equal(m.get("retriever")! + m.get("random")!, 19);
  assert.deepEqual(parseNegatives("retriever:2,random:1"), { retriever: 2, random: 1 });
  assert.throws(() => parseNegatives("bogus"), /negatives must be/);
});

// The bundled Games subset: 5,854 users, 688 with SASRec lists.
const games = loadRecData(BUNDLED_GAMES_DIR);
const split = splitLeaveOneOut(games);

for (const negatives of ["random", "popularity", "retriever"] as const) {
  test(`${negatives} pools: N candidates, exactly one positive, no duplicates, no history items`, () => {
    const { examples } = buildRecExamples(split.test, games, split.trainSequences, { negatives, seed: 3 });
    assert.equal(examples.length, 688);
    for (const ex of examples) {
      const ids = ex.pool.map((c) => c.id);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20);
      assert.equal(ids.filter((id) => ex.relevant.has(id)).length, 1);
      const history = new Set(split.test.find((t) => t.user === ex.id)!.history);
      assert.ok(ids.every((id) => ex.relevant.has(id) || !history.has(id)), "a history item was sampled as a negative");
      assert.ok(ex.pool.every((c) => c.text.length > 0));
    }
  });
}

test("the positive's position is uniform over many pools (chi-square bound)", () => {
  const d = dataset(Object.fromEntries(Array.from({ length: 50 }, (_, u) => [`u${u}`, Array.from({ length: 6 }, (_, i) => String((u * 7 + i * 13) % 200))])));
  for (let i = 0; i < 200; i++) d.titles.set(String(i), `t${i}`);
  const s = splitLeaveOneOut(d);
  const builder = new RecPoolBuilder(d, s.trainSequences, { negatives: "popularity", seed: 11 });
  const counts = new Array(20).fill(0);
  const n = 4000;
  for (let k = 0; k < n; k++) {
    const inst = s.test[k % s.test.length]!;
    const ex = builder.build(inst, `${inst.user}#${k}`);
    counts[ex.pool.findIndex((c) => ex.relevant.has(c.id))]++;
  }
  const expected = n / 20;
  const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
  // 19 degrees of freedom: P(chi2 > 43.8) = 0.001.
  assert.ok(chi2 < 43.8, `chi-square ${chi2.toFixed(1)} for counts ${counts.join(",")}`);
});

test("pools are deterministic under a seed, differ across seeds, and do not depend on which others were built", () => {
  const opts = { negatives: { retriever: 10, popularity: 5, random: 4 }, seed: 5 } as const;
  const a = buildRecExamples(split.test, games, split.trainSequences, opts).examples;
  const b = buildRecExamples(split.test.slice().reverse(), games, split.trainSequences, opts).examples.reverse();
  assert.deepEqual(a.map((e) => e.pool), b.map((e) => e.pool));
  const c = buildRecExamples(split.test, games, split.trainSequences, { ...opts, seed: 6 }).examples;
  const same = a.filter((e, i) => JSON.stringify(e.pool) === JSON.stringify(c[i]!.pool)).length;
  assert.ok(same < a.length / 10, `${same} of ${a.length} pools identical across seeds`);
});

test("retriever pools: negatives are the top non-positive, non-history items of the SASRec list", () => {
  const { examples } = buildRecExamples(split.test, games, split.trainSequences, { negatives: "retriever", seed: 1 });
  const ex = examples[0]!;
  const inst = split.test.find((t) => t.user === ex.id)!;
  const history = new Set(inst.history);
  const expected = games.candidates!.get(ex.id)!.filter((i) => i !== inst.target && !history.has(i)).slice(0, 19);
  assert.deepEqual(ex.pool.map((c) => c.id).filter((id) => id !== inst.target).sort(), expected.slice().sort());
  assert.deepEqual(ex.retrieverRank!.filter((id) => id !== inst.target), expected);
});

test("allowMissingPositive: the target is in the pool only when the retriever ranks it in its top slots", () => {
  const { examples, stats } = buildRecExamples(split.test, games, split.trainSequences, { negatives: "retriever", allowMissingPositive: true, seed: 1 });
  assert.ok(stats.missingPositive > 0 && stats.missingPositive < examples.length);
  let withTarget = 0;
  for (const ex of examples) {
    assert.equal(ex.pool.length, 20);
    assert.equal(new Set(ex.pool.map((c) => c.id)).size, 20);
    const [target] = [...ex.relevant.keys()];
    const inPool = ex.pool.some((c) => c.id === target);
    if (inPool) withTarget++;
    const history = new Set(split.test.find((t) => t.user === ex.id)!.history);
    const top = games.candidates!.get(ex.id)!.filter((i) => !history.has(i)).slice(0, 20);
    assert.equal(inPool, top.includes(target!), `user ${ex.id}`);
  }
  assert.equal(withTarget, examples.length - stats.missingPositive);
});

test("a classic model as first stage: training pools get item-kNN negatives and a retrieverRank", async () => {
  const { makeRecModel } = await import("../../src/tasks/baselines/index.js");
  const knn = makeRecModel("itemknn", split.trainSequences);
  const builder = new RecPoolBuilder(games, split.trainSequences, { negatives: "retriever", retriever: knn, seed: 2 });
  const inst = split.train.find((t) => t.history.length >= 3 && knn.recommend(t.history, 100, new Set(t.history)).length >= 25)!;
  const ex = builder.build(inst, `${inst.user}@${inst.position}`);
  const expected = knn.recommend(inst.history, 100, new Set(inst.history)).filter((i) => i !== inst.target).slice(0, 19);
  assert.equal(expected.length, 19);
  assert.deepEqual(ex.pool.map((c) => c.id).filter((id) => id !== inst.target).sort(), expected.slice().sort());
  assert.deepEqual(ex.retrieverRank!.filter((id) => id !== inst.target), expected);
  assert.equal(new Set(ex.pool.map((c) => c.id)).size, 20);
  const ranked = new RecPoolBuilder(games, split.trainSequences, { negatives: "random", ranker: knn, seed: 2 }).build(inst);
  assert.deepEqual(ranked.retrieverRank, knn.rankPool(ranked));
});
