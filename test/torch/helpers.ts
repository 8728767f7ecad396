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

/** Unit roundoff of float32. */
export const U32 = 2 ** -24;

/** γ_n = n·u / (1 − n·u): the relative error bound of n successive float32 roundings (Higham, §3.1). */
export function gamma32(n: number): number {
  return (n * U32) / (1 - n * U32);
}

/**
 * Asserts |actual − expected| ≤ bound elementwise, with the bound given per element (from a
 * float error analysis of the computation, e.g. γ_k·Σ|a_i·b_i| for a k-term float32 product).
 */
export function assertWithinBound(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>, what = "values"): void {
  const a = Array.isArray(actual) || ArrayBuffer.isView(actual) ? Array.from(actual as ArrayLike<number>) : (actual as Tensor).toArray();
  assert.equal(a.length, expected.length, `${what}: length ${a.length} != ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - expected[i]!);
    assert.ok(err <= bound[i]!, `${what}[${i}]: got ${a[i]}, expected ${expected[i]}, error ${err} > bound ${bound[i]}`);
  }
}
