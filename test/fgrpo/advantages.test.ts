import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { groupRelativeAdvantages, jointAdvantages, phaseAdvantages, type ScaleRewards } from "../../src/fgrpo/advantages.js";

function closeAll(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-12, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

const REWARDS = [1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5];

test("scale_rewards none / group / batch on a hand-computed batch", () => {
  const none = groupRelativeAdvantages(REWARDS, 4, { scaleRewards: "none", eps: 1e-4 });
  closeAll(none.advantages, [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0], "none");
  // group 1 std (n − 1): sqrt(4 · 0.25 / 3) = sqrt(1/3)
  const g = 0.5 / (Math.sqrt(1 / 3) + 1e-4);
  closeAll(groupRelativeAdvantages(REWARDS, 4, { scaleRewards: "group", eps: 1e-4 }).advantages, [g, -g, -g, g, 0, 0, 0, 0], "group");
  // batch std over all 8 (mean 0.5): sqrt(4 · 0.25 / 7)
  const b = 0.5 / (Math.sqrt(1 / 7) + 1e-4);
  closeAll(groupRelativeAdvantages(REWARDS, 4, { scaleRewards: "batch", eps: 1e-4 }).advantages, [b, -b, -b, b, 0, 0, 0, 0], "batch");
  const s = none.stats;
  assert.equal(s.rewardMean, 0.5);
  assert.ok(Math.abs(s.rewardStd - Math.sqrt(1 / 7)) < 1e-12);
  assert.ok(Math.abs(s.groupRewardStd - Math.sqrt(1 / 3) / 2) < 1e-12);
  assert.ok(Math.abs(s.advantageStd - Math.sqrt(1 / 7)) < 1e-12);
  assert.equal(s.zeroVarianceFraction, 0.5);
});

test("F-GRPO phases are independent: A^gen depends on R_gen only, A^rank on R_rank only", () => {
  const a = phaseAdvantages({ gen: [1, 0, 1, 1], rank: [0.2, 0.4, 0.2, 0.2] }, 2);
  const b = phaseAdvantages({ gen: [1, 0, 1, 1], rank: [0.9, 0.1, 0.3, 0.7] }, 2);
  closeAll(a.gen, Array.from(b.gen), "gen unchanged by rank rewards");
  closeAll(a.gen, [0.5, -0.5, 0, 0], "gen");
  closeAll(a.rank, [-0.1, 0.1, 0, 0], "rank");
  assert.equal(a.stats.gen.zeroVarianceFraction, 0.5);
  assert.equal(a.stats.rank.zeroVarianceFraction, 0.5);
  assert.equal(b.stats.rank.zeroVarianceFraction, 0);
});

test("joint advantage uses R_gen + λ·R_rank and returns the joint rewards", () => {
  const j = jointAdvantages({ gen: [1, 0, 0, 0], rank: [0, 1, 0.5, 0.5] }, 0.5, 2);
  closeAll(j.rewards, [1, 0.5, 0.25, 0.25], "joint rewards");
  closeAll(j.advantages, [0.25, -0.25, 0, 0], "joint advantages");
  assert.equal(j.stats.zeroVarianceFraction, 0.5);
});

test("shape errors name the problem", () => {
  assert.throws(() => groupRelativeAdvantages([1, 2], 1), /≥ 2/);
  assert.throws(() => groupRelativeAdvantages([1, 2, 3], 2), /groups of 2/);
  assert.throws(() => groupRelativeAdvantages([1, Number.NaN], 2), /reward 1/);
  assert.throws(() => phaseAdvantages({ gen: [1, 2], rank: [1] }, 2), /2 gen rewards vs 1/);
});

test("property: per-group advantages sum to zero for each phase and every scaling", () => {
  const batch = fc.integer({ min: 2, max: 8 }).chain((groupSize) =>
    fc.integer({ min: 1, max: 6 }).chain((groups) =>
      fc.record({
        groupSize: fc.constant(groupSize),
        gen: fc.array(fc.oneof(fc.constantFrom(-1, 0, 1), fc.double({ min: -1, max: 1, noNaN: true })), { minLength: groupSize * groups, maxLength: groupSize * groups }),
        rank: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: groupSize * groups, maxLength: groupSize * groups }),
        scale: fc.constantFrom<ScaleRewards>("none", "group", "batch"),
        lambda: fc.double({ min: 0, max: 2, noNaN: true }),
      }),
    ),
  );
  fc.assert(
    fc.property(batch, ({ groupSize, gen, rank, scale, lambda }) => {
      const opts = { scaleRewards: scale, eps: 1e-4 };
      const p = phaseAdvantages({ gen, rank }, groupSize, opts);
      const j = jointAdvantages({ gen, rank }, lambda, groupSize, opts);
      for (const adv of [p.gen, p.rank, j.advantages]) {
        for (let g = 0; g < adv.length / groupSize; g++) {
          let sum = 0;
          let scale = 0;
          for (let i = g * groupSize; i < (g + 1) * groupSize; i++) {
            sum += adv[i]!;
            scale += Math.abs(adv[i]!);
          }
          assert.ok(Math.abs(sum) <= 1e-9 * Math.max(1, scale), `group ${g} sums to ${sum}`);
        }
      }
      for (const s of [p.stats.gen, p.stats.rank, j.stats]) assert.ok(s.zeroVarianceFraction >= 0 && s.zeroVarianceFraction <= 1);
    }),
    { numRuns: 500 },
  );
});
