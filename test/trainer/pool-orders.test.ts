import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask, withPoolOrders } from "../../src/fgrpo/trainer/data.js";

test("task.train_pool_orders adds reshuffled copies of each training pool: same candidates and gold, other labels, same vocabulary", () => {
  const base = { seed: 3, task: { task: "qa", train_examples: 40, eval_examples: 4 } };
  const one = setupTask(parseConfig(base));
  const three = setupTask(parseConfig({ ...base, task: { ...base.task, train_pool_orders: 3 } }));
  assert.equal(three.train.length, 3 * one.train.length);
  assert.deepEqual(three.policyCodec.vocabSize, one.policyCodec.vocabSize);
  let moved = 0;
  one.train.forEach((e, i) => {
    const copies = [three.train[i]!, three.train[i + 40]!, three.train[i + 80]!];
    assert.deepEqual(copies[0]!.promptIds, e.promptIds, "the first order is the pool as built");
    for (const c of copies) {
      assert.equal(c.example.id, e.example.id);
      assert.deepEqual(c.example.pool.map((p) => p.id).sort(), e.example.pool.map((p) => p.id).sort());
      // Grades follow the candidates: the gold passages keep grade 1 wherever they now sit.
      const gold = [...c.grades].filter(([, g]) => g > 0).map(([pos]) => c.example.pool[pos - 1]!.id).sort();
      assert.deepEqual(gold, [...e.example.relevant.keys()].sort());
    }
    const labels = (c: (typeof copies)[number]) => [...c.grades].filter(([, g]) => g > 0).map(([pos]) => pos).sort().join(",");
    if (labels(copies[1]!) !== labels(copies[0]!)) moved += 1;
  });
  assert.ok(moved >= 35, `gold labels moved in ${moved} of 40 reshuffled copies`);
  // K = 1 is the identity, and the copies depend on the seed.
  assert.deepEqual(withPoolOrders(one.data.examples("train", 5), 1, 0).length, 5);
  const ex = one.data.examples("train", 5);
  assert.notDeepEqual(withPoolOrders(ex, 2, 0).slice(5).map((e) => e.pool.map((p) => p.id)), withPoolOrders(ex, 2, 1).slice(5).map((e) => e.pool.map((p) => p.id)));
});
