import { test } from "node:test";
import assert from "node:assert/strict";
import { splitLeaveOneOut } from "../../src/tasks/rec/splits.js";
import { RecPoolBuilder } from "../../src/tasks/rec/examples.js";
import { loadRecData } from "../../src/tasks/rec/load.js";
import { BUNDLED_GAMES_DIR } from "../../src/tasks/bundled.js";
import { makeRecModel } from "../../src/tasks/baselines/index.js";
import { parseConfig, poolOrderOf } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { Rng } from "../../src/util/random.js";

const games = loadRecData(BUNDLED_GAMES_DIR);
const splits = splitLeaveOneOut(games);

for (const name of ["popularity", "itemknn", "markov"]) {
  test(`${name}.scoreLeavingOut equals the model refit without that training sequence`, () => {
    const full = makeRecModel(name, splits.trainSequences);
    const rng = new Rng(3);
    const catalog = [...new Set(splits.trainSequences.flat())];
    for (let k = 0; k < 12; k++) {
      const inst = splits.train[rng.int(splits.train.length)]!;
      const own = inst.fitSequence!;
      assert.ok(own && own.includes(inst.target), "a training prefix carries its user's training sequence, target included");
      const refit = makeRecModel(name, splits.trainSequences.filter((s) => s !== own));
      // The target, later items of the same user, history items and random catalog items.
      const items = [...new Set([inst.target, ...own.slice(inst.position), ...inst.history.slice(-3), ...Array.from({ length: 20 }, () => catalog[rng.int(catalog.length)]!)])];
      const got = full.scoreLeavingOut!(inst.history, items, own);
      const want = refit.score(inst.history, items);
      got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= 1e-12 * Math.max(1, Math.abs(want[i]!)), `${name} ${inst.user}@${inst.position} item ${items[i]}: ${g} vs refit ${want[i]}`));
      assert.ok(items.some((_, i) => full.score(inst.history, items)[i] !== want[i]), "the full fit differs somewhere (the check is not vacuous)");
    }
  });
}

test("pool order first_stage: every pool is shown in the first stage's order; training pools are ordered without their own user", () => {
  const itemknn = makeRecModel("itemknn", splits.trainSequences);
  const ordered = new RecPoolBuilder(games, splits.trainSequences, { ranker: itemknn, orderByRank: true, seed: 0 });
  const shuffled = new RecPoolBuilder(games, splits.trainSequences, { ranker: itemknn, seed: 0 });
  const ids = (e: { pool: readonly { id: string }[] }) => e.pool.map((c) => c.id);
  const top1 = (xs: { pool: readonly { id: string }[]; relevant: ReadonlyMap<string, number> }[]) => xs.filter((e) => e.relevant.has(e.pool[0]!.id)).length / xs.length;
  const valid = splits.valid.map((inst) => ordered.build(inst));
  for (const [i, e] of valid.entries()) {
    const same = shuffled.build(splits.valid[i]!);
    assert.deepEqual([...ids(e)].sort(), [...ids(same)].sort(), "the same candidates as the shuffled pool");
    assert.deepEqual(ids(e), e.retrieverRank, "shown in the first stage's order");
    assert.deepEqual(ids(e), itemknn.rankPool(e), "which is item-kNN's order of the pool");
  }
  const train = splits.train.slice(0, 3000).map((inst) => ordered.build(inst, `${inst.user}@${inst.position}`));
  const leaky = splits.train.slice(0, 3000).map((inst) => {
    const e = shuffled.build(inst, `${inst.user}@${inst.position}`);
    return { ...e, pool: e.retrieverRank!.map((id) => ({ id, text: id })) };
  });
  const [v, t, l] = [top1(valid), top1(train), top1(leaky)];
  // Measured: valid 0.35, training left out 0.34, training with its own user fit on 0.93.
  assert.ok(Math.abs(t - v) < 0.08, `target first in ${t.toFixed(3)} of training pools, ${v.toFixed(3)} of validation pools`);
  assert.ok(l > t + 0.2, `with the user's own sequence fit on, the target is first in ${l.toFixed(3)} of training pools`);
});

test("task.pool_order defaults to the first stage's order on rec; first_stage needs a first stage and excludes reshuffled pool copies", () => {
  // The default (null) reranks the first stage on rec, and shuffles where there is none to rerank.
  assert.equal(parseConfig({}).task.pool_order, null);
  assert.equal(poolOrderOf(parseConfig({})), "first_stage");
  assert.equal(parseConfig({}).task.first_stage, "itemknn");
  assert.equal(poolOrderOf(parseConfig({ task: { first_stage: null } })), "shuffled");
  assert.equal(poolOrderOf(parseConfig({ task: { train_pool_orders: 2 } })), "shuffled");
  assert.equal(poolOrderOf(parseConfig({ task: { task: "qa" } })), "shuffled");
  assert.equal(poolOrderOf(parseConfig({ task: { pool_order: "shuffled" } })), "shuffled");
  assert.doesNotThrow(() => setupTask(parseConfig({ task: { first_stage: null, train_examples: 10 } })), "no first stage: shuffled pools, no error");
  assert.throws(() => setupTask(parseConfig({ task: { pool_order: "first_stage", first_stage: null, train_examples: 10 } })), /task\.first_stage/);
  assert.throws(() => setupTask(parseConfig({ task: { pool_order: "first_stage", train_pool_orders: 2, train_examples: 10 } })), /task\.train_pool_orders/);
  assert.throws(() => parseConfig({ task: { pool_order: "retriever" } }), /task\.pool_order/);
});

test("orderByRank refuses a ranker that cannot leave a training user out, instead of leaking its target", () => {
  const plain = { name: "plain", rankPool: (e: { pool: readonly { id: string }[] }) => e.pool.map((c) => c.id) };
  const builder = new RecPoolBuilder(games, splits.trainSequences, { ranker: plain, orderByRank: true });
  assert.doesNotThrow(() => builder.build(splits.valid[0]!), "evaluation pools need no leaving out");
  assert.throws(() => builder.build(splits.train[0]!, "x@1"), /ranker "plain" cannot score a training pool without its own user/);
});
