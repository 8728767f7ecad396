// A long forward/backward/step loop inside scopes keeps resident memory flat.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";

test("10,000 forward/backward/AdamW iterations in tidy keep RSS flat (< 50 MB growth)", () => {
  T.manualSeed(0);
  const w1 = T.keep(T.randn([64, 32]).mul(0.1).requiresGrad_());
  const w2 = T.keep(T.randn([8, 64]).mul(0.1).requiresGrad_());
  const opt = new T.AdamW(new Map([["w1", w1], ["w2", w2]]), { lr: 1e-3 });
  const x = T.keep(T.randn([16, 32]));
  const y = T.keep(T.randint(0, 8, [16]));
  const iteration = () =>
    T.tidy(() => {
      opt.zeroGrad();
      const logits = T.linear(T.linear(x, w1).gelu(), w2);
      const loss = T.crossEntropy(logits, y);
      loss.backward();
      T.clipGradNorm([w1, w2], 1.0);
      opt.update();
      const g = w1.grad!; // handles on gradients are scoped too
      return g.sum().item() + loss.item();
    });
  for (let i = 0; i < 500; i++) iteration(); // warm-up: allocator caches, JIT
  global.gc?.();
  const before = process.memoryUsage().rss;
  let last = 0;
  for (let i = 0; i < 10_000; i++) last = iteration();
  global.gc?.();
  const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(Number.isFinite(last));
  assert.ok(growthMb < 50, `RSS grew by ${growthMb.toFixed(1)} MB`);
  assert.equal(T.scopeDepth(), 0);
  opt.dispose();
});

test("scoped loops over medium and large tensors keep RSS flat (allocator fragmentation)", () => {
  // 400 KB and 31 MB blocks: sizes where glibc's dynamic mmap threshold used to let the heap
  // fragment and grow by gigabytes.
  const big = T.keep(T.randn([32, 84, 2900]));
  const round = () => {
    for (let i = 0; i < 2000; i++) T.tidy(() => T.zeros([100, 1000]).add(1).sum().item());
    for (let i = 0; i < 20; i++) T.tidy(() => big.exp().logSoftmax(-1).sum().item());
  };
  round();
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let r = 0; r < 5; r++) round();
  global.gc?.();
  const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(growthMb < 50, `RSS grew by ${growthMb.toFixed(1)} MB`);
  big.dispose();
});
