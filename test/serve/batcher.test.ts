// The dynamic batcher alone (no model): grouping by size and wait, the queue bound, and a
// failing batch retried item by item.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Batcher, QueueFullError } from "../../src/serve/batcher.js";

test("concurrent submits share calls of at most maxBatch, answers go back to their callers", async () => {
  const calls: number[][] = [];
  const sizes: number[] = [];
  const queue: number[] = [];
  const b = new Batcher<number, number>((xs) => (calls.push(xs), xs.map((x) => x * 10)), { maxBatch: 4, maxWaitMs: 20, maxQueue: 100 }, { batch: (n) => sizes.push(n), queue: (n) => queue.push(n) });
  const out = await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(i)));
  assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => i * 10));
  assert.deepEqual(calls, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(sizes, [4, 4, 2]);
  assert.equal(queue.at(-1), 0);
  assert.equal(b.length, 0);
});

test("a lone request waits at most maxWaitMs; one arriving later in the window joins its batch", async () => {
  const calls: number[][] = [];
  const b = new Batcher<number, number>((xs) => (calls.push(xs), xs), { maxBatch: 8, maxWaitMs: 500, maxQueue: 100 });
  const first = b.submit(1);
  await new Promise((r) => setTimeout(r, 10));
  const second = b.submit(2);
  assert.deepEqual(calls, []);
  await Promise.all([first, second]);
  assert.deepEqual(calls, [[1, 2]]);
  const alone = b.submit(3);
  await alone;
  assert.deepEqual(calls, [[1, 2], [3]]);
});

test("beyond maxQueue, submit rejects with QueueFullError (503) and the queued ones still succeed", async () => {
  const b = new Batcher<number, number>((xs) => xs, { maxBatch: 10, maxWaitMs: 20, maxQueue: 2 });
  const a = b.submit(1), c = b.submit(2);
  await assert.rejects(b.submit(3), (e: unknown) => e instanceof QueueFullError && e.statusCode === 503);
  assert.deepEqual(await Promise.all([a, c]), [1, 2]);
});

test("when a batch throws, its items are retried alone: only the bad one fails", async () => {
  const calls: number[][] = [];
  const b = new Batcher<number, number>((xs) => {
    calls.push(xs);
    if (xs.includes(13)) throw new Error("unlucky");
    return xs;
  }, { maxBatch: 4, maxWaitMs: 5, maxQueue: 10 });
  const results = await Promise.allSettled([12, 13, 14].map((x) => b.submit(x)));
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(calls, [[12, 13, 14], [12], [13], [14]]);
});

test("bad options are RangeErrors naming the option", () => {
  assert.throws(() => new Batcher((x) => x, { maxBatch: 0, maxWaitMs: 1, maxQueue: 1 }), /maxBatch/);
  assert.throws(() => new Batcher((x) => x, { maxBatch: 1, maxWaitMs: -1, maxQueue: 1 }), /maxWaitMs/);
});
