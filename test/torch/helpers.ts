import assert from "node:assert/strict";
import type { Tensor } from "../../src/torch/index.js";

/** Asserts elementwise closeness of a tensor (or numbers) to expected values. */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6, what = "values"): void {
  const a = Array.isArray(actual) || ArrayBuffer.isView(actual) ? Array.from(actual as ArrayLike<number>) : (actual as Tensor).toArray();
  assert.equal(a.length, expected.length, `${what}: length ${a.length} != ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a[i]!) : e === a[i] || Math.abs(a[i]! - e) <= tol * Math.max(1, Math.abs(e));
    assert.ok(ok, `${what}[${i}]: got ${a[i]}, expected ${e} (tol ${tol}); all: [${a.join(", ")}]`);
  }
}
