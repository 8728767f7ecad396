import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as T from "../../src/torch/index.js";

test("the caching CPU allocator reuses large blocks and can be emptied", () => {
  const before = T.allocatorStats();
  assert.equal(before.installed, true);
  for (let i = 0; i < 50; i++) T.tidy(() => T.ones([512, 512]).mul(2).sum().item());
  const after = T.allocatorStats();
  assert.ok(after.hits - before.hits >= 90, `expected reuse, got ${after.hits - before.hits} hits`);
  assert.ok(after.cachedBytes >= 512 * 512 * 4);
  T.emptyCache();
  assert.equal(T.allocatorStats().cachedBytes, 0);
  // Blocks handed out by the cache hold correct data (no aliasing of live tensors).
  T.tidy(() => {
    const a = T.full([400, 400], 3);
    const b = T.full([400, 400], 5);
    assert.equal(a.add(b).mean().item(), 8);
  });
});

test("a request takes the smallest cached block up to twice its size (best fit), not a larger one", () => {
  T.emptyCache();
  // One cached block of 1 MiB (a size-class boundary: 2^20 bytes of float32).
  T.tidy(() => T.zeros([256 * 1024]).sum().item());
  const cached = T.allocatorStats();
  assert.equal(cached.cachedBytes, 1 << 20);
  // 600 KiB fits in it (within 2x): a hit, the whole block leaves the cache, and its data is right.
  T.tidy(() => {
    const t = T.full([150 * 1024], 2);
    const hit = T.allocatorStats();
    assert.equal(hit.hits - cached.hits, 1, "served from the cached block");
    assert.equal(hit.misses, cached.misses);
    assert.equal(hit.cachedBytes, 0);
    assert.equal(t.sum().item(), 2 * 150 * 1024);
  });
  // 400 KiB would waste more than half of it: a fresh block, the 1 MiB one stays cached.
  const before = T.allocatorStats();
  T.tidy(() => {
    T.full([100 * 1024], 1);
    const after = T.allocatorStats();
    assert.equal(after.misses - before.misses, 1);
    assert.equal(after.cachedBytes, before.cachedBytes, "the 1 MiB block is still cached");
  });
  T.emptyCache();
});

test("FGRPO_CPU_CACHE_MB=0 leaves libtorch's default allocator in place", () => {
  const script = `const T = await import(${JSON.stringify(new URL("../../src/torch/index.js", import.meta.url).href)}); console.log(JSON.stringify(T.allocatorStats()));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, FGRPO_CPU_CACHE_MB: "0" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).installed, false);
});
