import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";

test("tidy frees intermediates and keeps what is returned, nested", () => {
  let inner: T.Tensor | null = null;
  let kept: T.Tensor | null = null;
  const out = T.tidy(() => {
    const a = T.ones([2]);
    const r = T.tidy(() => {
      inner = a.add(1);
      kept = T.keep(a.mul(5));
      return { sum: inner.add(a), parts: [inner] };
    });
    assert.equal(inner!.disposed, false);
    return r.sum;
  });
  assert.equal(inner!.disposed, true, "returned from the inner scope but not the outer one");
  assert.equal(out.disposed, false);
  assert.equal(kept!.disposed, false);
  assert.deepEqual(out.toArray(), [3, 3]);
  out.dispose();
  kept!.dispose();
});

test("tidy frees everything when fn throws", () => {
  let t: T.Tensor | null = null;
  assert.throws(() =>
    T.tidy(() => {
      t = T.ones([2]);
      throw new Error("boom");
    }),
  );
  assert.equal(t!.disposed, true);
  assert.equal(T.scopeDepth(), 0);
});

test("tidyAsync and Symbol.dispose", async () => {
  const r = await T.tidyAsync(async () => {
    const a = T.ones([2]);
    await new Promise((res) => setTimeout(res, 1));
    return a.add(1);
  });
  assert.deepEqual(r.toArray(), [2, 2]);
  let seen: T.Tensor;
  {
    using x = T.ones([1]);
    seen = x;
  }
  assert.equal(seen.disposed, true);
  r.dispose();
});

test("views stay valid after the base tensor is disposed", () => {
  const base = T.tensor([1, 2, 3, 4]);
  const v = base.narrow(0, 1, 2);
  base.dispose();
  assert.deepEqual(v.toArray(), [2, 3]);
  v.dispose();
});
