import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { reciprocalRank, scoreQuery } from "../../src/eval/metrics.js";
import {
  computeRewards,
  DEFAULT_REWARD_CONFIG,
  gradesByPosition,
  registerReward,
  resolveRewardConfig,
  rewardNames,
  type RewardConfig,
} from "../../src/fgrpo/rewards.js";
import type { RolloutLayout } from "../../src/fgrpo/layout.js";

const L3 = Math.log2(3);
const layout: RolloutLayout = { poolSize: 20, nMax: 10, kMax: 5 };
const ok = (slate: number[], ranking: number[]) => ({ status: "ok" as const, slate, ranking });

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
}

test("coverage rewards: recall (default), f1, hit", () => {
  const grades = new Map([[3, 1], [7, 1], [9, 1]]);
  const r = ok([3, 5, 7], [7, 3]);
  // |S ∩ G| = 2, |G| = 3, |S| = 3
  close(computeRewards(r, grades, layout).gen, 2 / 3, "recall");
  close(computeRewards(r, grades, layout, resolveRewardConfig({ gen: "f1" })).gen, (2 * (2 / 3) * (2 / 3)) / (4 / 3), "f1");
  close(computeRewards(r, grades, layout, resolveRewardConfig({ gen: "hit" })).gen, 1, "hit");
  close(computeRewards(ok([1, 2], [1]), grades, layout, resolveRewardConfig({ gen: "f1" })).gen, 0, "f1 without hits");
  close(computeRewards(ok([1, 2], [1]), grades, layout, resolveRewardConfig({ gen: "hit" })).gen, 0, "hit without hits");
  close(computeRewards(ok([1, 2], [1]), new Map(), layout).gen, 0, "no gold items");
});

test("utility reward: NDCG@k_max, absolute or slate-conditional IDCG, linear or exponential gain", () => {
  const grades = new Map([[3, 1], [7, 1], [9, 1]]);
  const r = ok([3, 5, 7], [7, 3]);
  // DCG = 1 + 1/log2 3; absolute IDCG = 1 + 1/log2 3 + 1/2 (all 3 gold items)
  close(computeRewards(r, grades, layout).rank, (1 + 1 / L3) / (1 + 1 / L3 + 0.5), "absolute");
  // slate-conditional IDCG over G ∩ S = {3, 7}: 1 + 1/log2 3 — the ranking is ideal for its slate
  close(computeRewards(r, grades, layout, resolveRewardConfig({ idcg: "slate_conditional" })).rank, 1, "slate_conditional");
  close(computeRewards(ok([5], [5]), grades, layout, resolveRewardConfig({ idcg: "slate_conditional" })).rank, 0, "no gold in slate");
  const graded = new Map([[3, 2], [7, 1]]);
  // linear: DCG = 1 + 2/log2 3, IDCG = 2 + 1/log2 3; exponential gains 2^g − 1 = 3 and 1
  close(computeRewards(r, graded, layout).rank, (1 + 2 / L3) / (2 + 1 / L3), "graded linear");
  close(computeRewards(r, graded, layout, resolveRewardConfig({ gain: "exponential" })).rank, (1 + 3 / L3) / (3 + 1 / L3), "exponential");
  // k = 1 overrides k_max: only [7] counts; IDCG@1 = 2 (grade of 3)
  close(computeRewards(r, graded, layout, resolveRewardConfig({ k: 1 })).rank, 1 / 2, "k = 1");
  // the cutoff is k_max: a layout with k_max = 1 scores the first ranked item only
  close(computeRewards(r, graded, { ...layout, kMax: 1 }).rank, 1 / 2, "k_max = 1");
});

test("invalid rollouts get the format penalty on both phases (configurable)", () => {
  const grades = new Map([[3, 1]]);
  for (const status of ["wrong_format", "repetition", "out_of_pool", "rank_not_in_slate", "too_long"] as const) {
    assert.deepEqual(computeRewards({ status, slate: [3], ranking: [3] }, grades, layout), { gen: -1, rank: -1 });
  }
  const config = resolveRewardConfig({ formatPenalty: { gen: -0.5, rank: 0 } });
  assert.deepEqual(computeRewards({ status: "repetition", slate: [3, 3], ranking: [3] }, grades, layout, config), { gen: -0.5, rank: 0 });
  assert.deepEqual(resolveRewardConfig({ formatPenalty: { gen: -2 } as RewardConfig["formatPenalty"] }).formatPenalty, { gen: -2, rank: -1 });
});

test("user rewards register by name per phase; configs are checked field by field", () => {
  registerReward("rank", "test_mrr", (ctx) => reciprocalRank(ctx.rollout.ranking, ctx.grades));
  assert.ok(rewardNames("rank").includes("test_mrr") && !rewardNames("gen").includes("test_mrr"));
  const config = resolveRewardConfig({ rank: "test_mrr" });
  assert.deepEqual(computeRewards(ok([3, 5], [5, 3]), new Map([[3, 1]]), layout, config), { gen: 1, rank: 1 / 2 });
  assert.throws(() => registerReward("rank", "test_mrr", () => 0), /already registered/);
  registerReward("rank", "test_mrr", () => 0.25, { replace: true });
  assert.equal(computeRewards(ok([3], [3]), new Map(), layout, config).rank, 0.25);
  assert.throws(() => resolveRewardConfig({ gen: "precision" }), /"gen": expected one of recall, f1, hit/);
  assert.throws(() => resolveRewardConfig({ gain: "log" as never }), /"gain": expected one of linear, exponential/);
  assert.throws(() => resolveRewardConfig({ idcg: "ideal" as never }), /"idcg"/);
  assert.throws(() => resolveRewardConfig({ k: 0 }), /"k"/);
  assert.throws(() => resolveRewardConfig({ formatPenalty: { gen: Number.NaN, rank: -1 } }), /formatPenalty\.gen/);
  assert.deepEqual(resolveRewardConfig(), { ...DEFAULT_REWARD_CONFIG, formatPenalty: { gen: -1, rank: -1 } });
});

test("gradesByPosition maps document grades onto 1-based pool positions", () => {
  const gold = new Map([["d9", 2], ["d1", 1], ["dX", 1]]);
  assert.deepEqual(gradesByPosition(["d1", "d5", "d9"], gold), new Map([[1, 1], [3, 2]]));
});

test("property: the rank reward equals the evaluation metric ndcg@k_max on the same list", () => {
  fc.assert(
    fc.property(
      fc.shuffledSubarray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { minLength: 1, maxLength: 10 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 10, maxLength: 10 }),
      fc.integer({ min: 1, max: 6 }),
      (slate, gradeList, kMax) => {
        const grades = new Map(gradeList.map((g, i) => [i + 1, g] as [number, number]));
        const ranking = slate.slice(0, kMax);
        const reward = computeRewards(ok(slate, ranking), grades, { poolSize: 10, nMax: 10, kMax }).rank;
        const gold = new Map([...grades].map(([p, g]) => [String(p), g] as [string, number]));
        close(reward, scoreQuery(`ndcg@${kMax}`, ranking.map(String), gold), "reward vs metric");
      },
    ),
  );
});
