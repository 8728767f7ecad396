import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../src/util/random.js";
import { checkSyntheticOptions, DEFAULT_SYNTHETIC_OPTIONS, parseSyntheticCandidate, syntheticExample, syntheticExamples, type SyntheticOptions } from "../../src/tasks/synthetic/generate.js";
import { AttributeRanker } from "../../src/tasks/synthetic/baseline.js";
import { goldTarget, sftTarget } from "../../src/tasks/gold.js";
import { loadTaskData } from "../../src/tasks/task-data.js";
import { promptSymbols } from "../../src/tasks/prompts.js";
import { buildTaskVocab } from "../../src/tasks/vocab.js";
import type { RankingExample } from "../../src/tasks/types.js";
import { computeRewards, gradesByPosition, resolveRewardConfig } from "../../src/fgrpo/rewards.js";
import { isValidRollout, type RolloutLayout } from "../../src/fgrpo/layout.js";

const base: SyntheticOptions = { ...DEFAULT_SYNTHETIC_OPTIONS, poolSize: 12, seed: 3, examples: { train: 50, valid: 10, test: 10 } };

const arbOptions = fc.record({
  poolSize: fc.integer({ min: 3, max: 24 }),
  goldFrac: fc.double({ min: 0, max: 0.99, noNaN: true }),
  categories: fc.integer({ min: 2, max: 6 }),
  extraGrades: fc.integer({ min: 0, max: 5 }),
  gradeNoise: fc.constantFrom(0, 0.3),
  seed: fc.integer({ min: 0, max: 1000 }),
}).map((r): SyntheticOptions => {
  const goldSize = 1 + Math.floor(r.goldFrac * (r.poolSize - 1));
  // Enough (category, grade) pairs for distinct non-gold candidates.
  const grades = Math.max(goldSize + r.extraGrades, Math.ceil((r.poolSize - goldSize) / (r.categories - 1)));
  return { poolSize: r.poolSize, goldSize, categories: r.categories, grades, gradeNoise: r.gradeNoise, seed: r.seed, examples: { train: 5, valid: 5, test: 5 } };
});

/** Reward of a rollout under the project's reward code. */
function rewards(ex: RankingExample, r: { slate: number[]; ranking: number[] }, layout: RolloutLayout, idcg: "absolute" | "slate_conditional" = "absolute") {
  const grades = gradesByPosition(ex.pool.map((c) => c.id), ex.relevant);
  return computeRewards({ ...r, status: "ok" }, grades, layout, resolveRewardConfig({ idcg }));
}

test("generation is deterministic: same (seed, split, index) → same example, whatever else is generated", () => {
  const a = syntheticExamples(base, "train");
  const b = syntheticExamples(base, "train");
  assert.deepEqual(a, b);
  assert.deepEqual(syntheticExample(base, "train", 7), a[7]);
  assert.deepEqual(syntheticExamples(base, "train", 3), a.slice(0, 3));
  // Another seed, or another split, gives other prompts.
  const other = syntheticExamples({ ...base, seed: 4 }, "train");
  assert.ok(other.some((e, i) => JSON.stringify(e.pool) !== JSON.stringify(a[i]!.pool)));
  const valid = syntheticExamples(base, "valid");
  assert.ok(valid.some((e, i) => JSON.stringify(e.pool) !== JSON.stringify(a[i]!.pool)));
  assert.equal(new Set([...a, ...valid, ...syntheticExamples(base, "test")].map((e) => e.id)).size, 70);
});

test("every pool: goldSize candidates of the query's category with distinct grades, the rest of other categories", () => {
  fc.assert(
    fc.property(arbOptions, fc.constantFrom("train", "valid", "test" as const), fc.integer({ min: 0, max: 4 }), (o, split, i) => {
      assert.equal(checkSyntheticOptions(o), null);
      const ex = syntheticExample(o, split, i);
      assert.equal(ex.pool.length, o.poolSize);
      assert.equal(new Set(ex.pool.map((c) => c.id)).size, o.poolSize);
      const query = Number(ex.question!.slice(1));
      assert.ok(query >= 0 && query < o.categories);
      const gold = ex.pool.filter((c) => ex.relevant.has(c.id));
      assert.equal(gold.length, o.goldSize);
      assert.equal(ex.relevant.size, o.goldSize);
      const grades = [...ex.relevant.values()];
      assert.equal(new Set(grades).size, o.goldSize, "gold grades are distinct: the optimal order is unique");
      for (const c of ex.pool) {
        const a = parseSyntheticCandidate(c.text);
        assert.equal(a.category === query, ex.relevant.has(c.id), "membership is decided by the category alone");
        assert.ok(a.grade >= 1 && a.grade <= o.grades);
        if (o.gradeNoise === 0 && ex.relevant.has(c.id)) assert.equal(a.grade, ex.relevant.get(c.id), "without noise a gold candidate shows its true grade");
      }
    }),
    { numRuns: 200 },
  );
});

test("the gold slate and order are optimal under the reward: recall 1 and NDCG 1, and no valid rollout scores more", () => {
  fc.assert(
    fc.property(arbOptions, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 }), (o, i, seed) => {
      const ex = syntheticExample(o, "test", i);
      const layout = { poolSize: o.poolSize, nMax: o.goldSize, kMax: o.goldSize };
      const gold = goldTarget(ex, { ...layout, filler: "pool" });
      assert.ok(isValidRollout(gold, layout));
      const best = rewards(ex, gold, layout);
      assert.equal(best.gen, 1);
      assert.ok(Math.abs(best.rank - 1) < 1e-12);
      // The ranking orders gold by grade, highest first.
      const g = (p: number) => ex.relevant.get(ex.pool[p - 1]!.id)!;
      for (let k = 1; k < gold.ranking.length; k++) assert.ok(g(gold.ranking[k - 1]!) > g(gold.ranking[k]!));
      // Any other valid rollout: a random slate and a random order of part of it.
      const rng = new Rng(seed);
      const slate = rng.shuffle(ex.pool.map((_, j) => j + 1)).slice(0, 1 + rng.int(o.goldSize));
      const ranking = rng.shuffle([...slate]).slice(0, 1 + rng.int(slate.length));
      const r = rewards(ex, { slate, ranking }, layout);
      assert.ok(r.gen <= best.gen && r.rank <= best.rank + 1e-12);
    }),
    { numRuns: 300 },
  );
});

test("slate quality and ranking quality are independent: one-phase targets solve exactly their phase", () => {
  const layout = { poolSize: 12, nMax: 4, kMax: 4 };
  const rng = new Rng(1);
  let slateOnlyRank = 0, rankOnlyGen = 0;
  const examples = syntheticExamples({ ...base, examples: { train: 400, valid: 1, test: 1 } }, "train");
  for (const ex of examples) {
    const s = sftTarget(ex, "slate_only", { ...layout, filler: "random", rng });
    const r = sftTarget(ex, "rank_only", { ...layout, filler: "random", rng });
    assert.ok(isValidRollout(s, layout) && isValidRollout(r, layout));
    // slate_only: the right set, whatever its order.
    assert.equal(rewards(ex, s, layout).gen, 1);
    slateOnlyRank += rewards(ex, s, layout, "slate_conditional").rank;
    // rank_only: the best order of whatever set it holds (slate-conditional NDCG 1 when the set holds gold).
    const rr = rewards(ex, r, layout, "slate_conditional");
    const holdsGold = r.slate.some((p) => ex.relevant.has(ex.pool[p - 1]!.id));
    assert.ok(holdsGold ? Math.abs(rr.rank - 1) < 1e-12 : rr.rank === 0);
    rankOnlyGen += rewards(ex, r, layout).gen;
  }
  // The unsolved phase is at chance: a random order of 4 distinct grades has mean NDCG well below 1,
  // and a random 4 of 12 holds 4/12 of the gold on average.
  assert.ok(slateOnlyRank / examples.length < 0.9, `slate_only rank ${slateOnlyRank / examples.length}`);
  assert.ok(Math.abs(rankOnlyGen / examples.length - 4 / 12) < 0.05, `rank_only recall ${rankOnlyGen / examples.length}`);
});

test("the attribute rule reaches the optimum without noise, and not always with it", () => {
  const ranker = new AttributeRanker();
  const layout = { poolSize: 12, nMax: 4, kMax: 4 };
  const score = (o: SyntheticOptions) => {
    let sum = 0;
    const exs = syntheticExamples(o, "valid");
    for (const ex of exs) {
      const pos = new Map(ex.pool.map((c, i) => [c.id, i + 1]));
      const ranking = ranker.rankPool(ex).slice(0, 4).map((id) => pos.get(id)!);
      sum += rewards(ex, { slate: ranking, ranking }, layout).rank;
    }
    return sum / exs.length;
  };
  assert.ok(Math.abs(score({ ...base, examples: { train: 1, valid: 100, test: 1 } }) - 1) < 1e-12);
  assert.ok(score({ ...base, gradeNoise: 0.5, examples: { train: 1, valid: 100, test: 1 } }) < 0.99);
});

test("prompts and vocabulary: the query category, then [i] and one item symbol per candidate", () => {
  const ex = syntheticExample(base, "train", 0);
  const s = promptSymbols(ex);
  assert.deepEqual(s.slice(0, 5), ["<bos>", "<Q>", ex.question, "</Q>", "<POOL>"]);
  assert.equal(s.length, 5 + 2 * 12 + 1);
  const a = parseSyntheticCandidate(ex.pool[0]!.text);
  assert.deepEqual(s.slice(5, 7), ["[1]", `item:c${a.category}g${a.grade}`]);
  const vocab = buildTaskVocab(syntheticExamples(base, "train"), { poolSize: 12 });
  for (let c = 0; c < base.categories; c++) {
    assert.ok(vocab.has(`c${c}`));
    for (let g = 1; g <= base.grades; g++) assert.ok(vocab.has(`item:c${c}g${g}`));
  }
});

test("grade noise keeps shown pairs distinct and changes some shown grades", () => {
  const o = { ...base, gradeNoise: 0.5, examples: { train: 200, valid: 1, test: 1 } };
  let changed = 0;
  for (const ex of syntheticExamples(o, "train")) {
    assert.equal(new Set(ex.pool.map((c) => c.id)).size, 12);
    for (const [id, g] of ex.relevant) if (parseSyntheticCandidate(ex.pool.find((c) => c.id === id)!.text).grade !== g) changed++;
  }
  assert.ok(changed > 100 && changed < 800, `changed ${changed} of 800`);
});

test("bad options name the field", () => {
  const bad: [Partial<SyntheticOptions>, RegExp][] = [
    [{ goldSize: 12 }, /goldSize/],
    [{ goldSize: 0 }, /goldSize/],
    [{ categories: 1 }, /categories/],
    [{ grades: 3 }, /grades/],
    [{ gradeNoise: 1 }, /gradeNoise/],
    [{ poolSize: 2.5 }, /poolSize/],
    [{ poolSize: 30, categories: 2, grades: 8 }, /poolSize/],
    [{ examples: { train: 0, valid: 1, test: 1 } }, /examples\.train/],
  ];
  for (const [patch, re] of bad) {
    const p = checkSyntheticOptions({ ...base, ...patch });
    assert.ok(p, JSON.stringify(patch));
    assert.match(p.field, re);
  }
  assert.throws(() => loadTaskData({ task: "synthetic", poolSize: 12, synthetic: { categories: 1 } }), /field "synthetic\.categories"/);
  assert.throws(() => loadTaskData({ task: "synthetic", data: ["x"] }), /field "task\.data"/);
  const d = loadTaskData({ task: "synthetic", poolSize: 12, seed: 3, synthetic: { examples: { train: 50, valid: 10, test: 10 } } });
  assert.deepEqual(d.examples("train", 5), syntheticExamples(base, "train", 5));
  assert.equal(d.examples("test").length, 10);
});
