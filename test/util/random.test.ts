import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/random.js";

test("Rng is deterministic under a seed and differs across seeds", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.nextUint32());
  const xb = Array.from({ length: 5 }, () => b.nextUint32());
  const xc = Array.from({ length: 5 }, () => c.nextUint32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test("Rng state save/restore replays the same stream", () => {
  const r = new Rng(7);
  r.next();
  const state = r.getState();
  const first = [r.next(), r.next(), r.int(10)];
  r.setState(state);
  assert.deepEqual([r.next(), r.next(), r.int(10)], first);
});

test("Rng.int is roughly uniform and in range", () => {
  const r = new Rng(1);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 50000; i++) counts[r.int(5)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
});

test("Rng.shuffle returns a permutation", () => {
  const r = new Rng(3);
  const xs = r.shuffle(Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...xs].sort((p, q) => p - q), Array.from({ length: 100 }, (_, i) => i));
});
