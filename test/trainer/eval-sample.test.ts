import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";

const ids = (xs: readonly { example: { id: string } }[]) => xs.map((e) => e.example.id);

test("task.eval_sample: head keeps the first N users; random keeps a fixed seeded sample in file order, the same for every seed", () => {
  const cfg = (seed: number, eval_sample?: string) => parseConfig({ seed, task: { task: "rec", eval_examples: 50, ...(eval_sample ? { eval_sample } : {}) } });
  const head = setupTask(cfg(0));
  const all = ids(head.evalExamples("valid"));
  assert.ok(all.length > 500, "the bundled Games validation split has hundreds of users");
  assert.deepEqual(ids(head.evalExamples("valid", 50)), all.slice(0, 50), "the default is the head of the file");

  const random = setupTask(cfg(0, "random"));
  const picked = ids(random.evalExamples("valid", 50));
  assert.equal(new Set(picked).size, 50, "no user twice");
  const pos = picked.map((id) => all.indexOf(id));
  assert.ok(pos.every((p) => p >= 0), "every sampled user is a validation user");
  assert.deepEqual(pos, [...pos].sort((a, b) => a - b), "file order is kept");
  assert.ok(pos.filter((p) => p >= 50).length >= 40, `a sample, not the head: ${pos.filter((p) => p >= 50).length} of 50 beyond it`);
  assert.ok(Math.max(...pos) > all.length / 2, "it reaches the second half of the file");
  // The same users for another seed (pools differ by seed, users do not), and no limit means all.
  assert.deepEqual(ids(setupTask(cfg(7, "random")).evalExamples("valid", 50)), picked);
  assert.deepEqual(ids(random.evalExamples("valid")), all);
  assert.deepEqual(ids(random.evalExamples("valid", all.length + 10)), all);
});

test("task.eval_sample rejects other values with the field named", () => {
  assert.throws(() => parseConfig({ task: { eval_sample: "first" } }), /task\.eval_sample/);
});
