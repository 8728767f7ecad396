import { test } from "node:test";
import assert from "node:assert/strict";
import { idTokensOf, parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { validateMethods } from "../../src/fgrpo/trainer/compare.js";
import { computeRewards, resolveRewardConfig } from "../../src/fgrpo/rewards.js";
import { Rng } from "../../src/util/random.js";

const synthetic = (patch: Record<string, unknown> = {}, layout: Record<string, unknown> = { n_max: 4, k_max: 4 }) => ({
  task: { task: "synthetic", pool_size: 12, eval_examples: 20, synthetic: { examples: { train: 64, valid: 20, test: 20 }, ...patch } },
  layout,
});

test("synthetic config: defaults, and bad fields named by their config path", () => {
  const c = parseConfig(synthetic());
  assert.equal(c.task.synthetic.gold_size, 4);
  assert.equal(c.task.synthetic.categories, 3);
  assert.equal(c.sft.target, "gold");
  assert.equal(idTokensOf(c), "item");
  assert.equal(idTokensOf(parseConfig({ ...synthetic(), layout: { n_max: 4, k_max: 4, id_tokens: "pool_id" } })), "pool_id");
  const cases: [unknown, RegExp][] = [
    [synthetic({ gold_size: 12 }, { n_max: 12, k_max: 4 }), /c\.json, field "task\.synthetic\.gold_size": 12 gold candidates leave no other candidate in a pool of 12/],
    [synthetic({ categories: 1 }), /field "task\.synthetic\.categories": must be an integer ≥ 2/],
    [synthetic({ grades: 2 }), /field "task\.synthetic\.grades": must be an integer ≥ goldSize/],
    [synthetic({ grade_noise: 1 }), /field "task\.synthetic\.grade_noise"/],
    [synthetic({ examples: { train: 0 } }), /field "task\.synthetic\.examples\.train"/],
    [synthetic({ colour: 1 }), /field "task\.synthetic": unknown field\(s\) "colour"/],
    [synthetic({}, { n_max: 3, k_max: 3 }), /field "layout\.n_max": n_max \(3\) is smaller than task\.synthetic\.gold_size \(4\)/],
    [{ ...synthetic(), task: { ...synthetic().task, data: "x.jsonl" } }, /field "task\.data": the synthetic task generates its data/],
    [{ ...synthetic(), task: { ...synthetic().task, pool_size: 40 }, layout: { n_max: 4, k_max: 4 } }, /field "task\.pool_size": 36 non-gold candidates need distinct \(category, grade\) pairs/],
    [{ ...synthetic(), sft: { target: "ranking" } }, /field "sft\.target": must be one of "gold", "slate_only", "rank_only"/],
    [{ task: { task: "puzzles" } }, /field "task\.task": must be one of "rec", "qa", "synthetic"/],
  ];
  for (const [cfg, re] of cases) assert.throws(() => parseConfig(cfg, "c.json"), re);
});

test("the trainer's SFT targets: gold solves both phases, slate_only the slate, rank_only the order", () => {
  const layout = { poolSize: 12, nMax: 4, kMax: 4 };
  const reward = (idcg: "absolute" | "slate_conditional") => resolveRewardConfig({ idcg });
  for (const target of ["gold", "slate_only", "rank_only"] as const) {
    const task = setupTask(parseConfig({ ...synthetic(), sft: { target } }));
    assert.equal(task.train.length, 64);
    const rng = new Rng(0);
    let gen = 0, rankInSlate = 0;
    for (const e of task.train) {
      const parsed = e.codec.parse(task.goldCompletion(e, rng));
      assert.equal(parsed.status, "ok");
      gen += computeRewards(parsed, e.grades, layout, reward("absolute")).gen;
      const r = computeRewards(parsed, e.grades, layout, reward("slate_conditional")).rank;
      rankInSlate += r;
      // A slate without gold has nothing to order (NDCG 0); any other is ordered perfectly.
      const holdsGold = parsed.slate.some((p) => (e.grades.get(p) ?? 0) > 0);
      if (target === "rank_only") assert.ok(holdsGold ? Math.abs(r - 1) < 1e-9 : r === 0);
    }
    gen /= task.train.length;
    rankInSlate /= task.train.length;
    if (target === "gold") assert.ok(gen === 1 && Math.abs(rankInSlate - 1) < 1e-9);
    if (target === "slate_only") assert.ok(gen === 1 && rankInSlate < 0.95, `rank ${rankInSlate}`);
    if (target === "rank_only") assert.ok(gen < 0.5, `gen ${gen}`);
  }
});

test("compare accepts the synthetic baselines and refuses the others' for it", () => {
  validateMethods(["fgrpo", "grpo", "sft", "random", "attributes"], "synthetic");
  assert.throws(() => validateMethods(["bm25"], "synthetic"), /unknown method "bm25" for task synthetic/);
  assert.throws(() => validateMethods(["attributes"], "rec"), /unknown method "attributes" for task rec/);
});
