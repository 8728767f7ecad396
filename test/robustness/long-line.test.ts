// One user with a very long sequence: its training prefixes must not each hold a copy of their
// history (L²/2 ids: 100,000 items would be 5·10⁹ ids and exhaust the heap).
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitLeaveOneOut } from "../../src/tasks/rec/splits.js";
import type { RecDataset } from "../../src/tasks/rec/dataset.js";

test("a 100,000-item user splits into prefixes in linear memory, with the right histories", () => {
  const items = Array.from({ length: 100_000 }, (_, i) => `i${i % 7919}`);
  const data = { name: "long", sequences: new Map([["u", items]]), titles: new Map(), report: {} } as unknown as RecDataset;
  const before = process.memoryUsage().heapUsed;
  const splits = splitLeaveOneOut(data);
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(splits.train.length, 100_000 - 2 - 1);
  assert.ok(grown < 200 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(0)} MB`);
  for (const k of [0, 1, 5_000, splits.train.length - 1]) {
    const ex = splits.train[k]!;
    assert.deepEqual(ex.history, items.slice(0, ex.position));
    assert.equal(ex.target, items[ex.position]);
  }
  assert.deepEqual(splits.test[0]!.history, items.slice(0, 99_999));
});
