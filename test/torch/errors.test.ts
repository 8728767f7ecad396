// Every libtorch failure becomes a catchable JavaScript Error carrying libtorch's message.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";

test("shape, dtype, index and device errors throw catchable errors", () => {
  T.tidy(() => {
    const a = T.ones([2, 3]);
    assert.throws(() => a.matmul(T.ones([2, 3])), /mat1 and mat2 shapes cannot be multiplied|size mismatch/);
    assert.throws(() => a.add(T.ones([4])), /must match the size|size of tensor a/);
    assert.throws(() => a.view(4), /shape '\[4\]' is invalid/);
    assert.throws(() => a.indexSelect(0, T.tensor([5], { dtype: "int64" })), /out of range/);
    assert.throws(() => a.indexSelect(0, T.tensor([0.5])), /Expected dtype int|index_select\(\): Expected/);
    assert.throws(() => a.gather(1, T.tensor([[3]], { dtype: "int64" })), /out of bounds|index 3 is out of bounds/);
    assert.throws(() => T.embedding(T.ones([3, 2]), T.tensor([7], { dtype: "int64" })), /out of range/);
    assert.throws(() => a.narrow(1, 2, 5), /exceeds dimension size|start \(2\) \+ length \(5\)/);
    assert.throws(() => a.toDevice("tpu"), /device|Expected one of/);
    assert.throws(() => T.zeros([2], { device: "cuda:7" }), /CUDA|cuda/);
    assert.throws(() => T.zeros([2], { dtype: "float8" as T.DType }), /unknown dtype 'float8'/);
    assert.throws(() => T.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => a.item(), /2x3|6 elements/);
    assert.throws(() => T.cat([], 0), /expected a non-empty list|non-empty/);
  });
});

test("bad arguments and use after dispose throw", () => {
  const a = T.ones([2]);
  a.dispose();
  assert.ok(a.disposed);
  assert.throws(() => a.add(1), /used after dispose/);
  a.dispose(); // disposing twice is harmless
  const native = (T.ones([1]) as unknown as { handle: unknown }).handle;
  assert.ok(native);
  assert.throws(() => T.tensor([1]).reshape(1.5), /argument 1: expected an array of integers/);
});

test("the process survives many errors in a row", () => {
  for (let i = 0; i < 200; i++) {
    assert.throws(() => T.tidy(() => T.ones([2, 3]).matmul(T.ones([2, 3]))));
  }
  assert.equal(T.scopeDepth(), 0);
});
