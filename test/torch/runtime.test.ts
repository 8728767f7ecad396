// Process-wide settings: thread counts and the operator profiler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";

test("thread settings read back what was set", () => {
  const saved = { intraOp: T.getNumThreads(), blas: T.getBlasThreads() };
  try {
    T.setNumThreads(1, 1);
    assert.equal(T.getNumThreads(), 1);
    if (saved.blas !== null) assert.equal(T.getBlasThreads(), 1);
  } finally {
    T.setNumThreads(saved.intraOp, saved.blas ?? undefined);
  }
});

test("profile writes a Chrome trace of the ATen calls, backward included, even when fn throws", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-profile-"));
  try {
    const path = join(dir, "trace.json");
    const result = T.profile(path, () =>
      T.tidy(() => {
        const a = T.randn([8, 8]).requiresGrad_();
        a.matmul(a).sum().backward();
        return 42;
      }),
    );
    assert.equal(result, 42);
    const names = new Set((JSON.parse(readFileSync(path, "utf8")) as { name: string }[]).map((e) => e.name));
    assert.ok(names.has("aten::mm"), [...names].join(", "));
    assert.ok([...names].some((n) => n.includes("MmBackward")), "backward ops are traced");
    const failing = join(dir, "failing.json");
    assert.throws(() => T.profile(failing, () => T.randn([2, 3]).matmul(T.randn([2, 3]))), /mat1 and mat2|shapes/);
    assert.ok(Array.isArray(JSON.parse(readFileSync(failing, "utf8"))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
