import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";

/** A small two-layer block with parameters, used plain and checkpointed. */
function block(w1: T.Tensor, w2: T.Tensor, p: number) {
  return ([x, c]: T.Tensor[]): T.Tensor[] => {
    const h = T.dropout(T.linear(x!, w1).tanh(), p, true);
    const y = T.linear(h, w2).add(x!).mul(c!);
    return [y, h.sum(-1)];
  };
}

function grads(checkpointed: boolean, seed: number) {
  return T.tidy(() => {
    T.manualSeed(1);
    const w1 = T.randn([6, 4], { dtype: "float64" }).requiresGrad_();
    const w2 = T.randn([4, 6], { dtype: "float64" }).requiresGrad_();
    const x0 = T.randn([3, 4], { dtype: "float64" }).requiresGrad_();
    const c = T.randn([3, 4], { dtype: "float64" });
    const f = block(w1, w2, 0.3);
    T.manualSeed(seed);
    let x = x0.mul(2);
    let side = T.zeros([3], { dtype: "float64" });
    for (let layer = 0; layer < 3; layer++) {
      const [y, s] = checkpointed ? T.checkpoint(f, [x, c]) : f([x, c]);
      x = y!;
      side = side.add(s!);
    }
    x.square().sum().add(side.mul(side).sum()).backward();
    return [w1.grad!, w2.grad!, x0.grad!].map((g) => Array.from(g.toFloat64Array()));
  });
}

test("checkpointed gradients equal plain ones (parameters, inputs, two outputs, dropout replayed)", () => {
  const plain = grads(false, 7);
  const ckpt = grads(true, 7);
  for (let k = 0; k < plain.length; k++) {
    assert.equal(plain[k]!.length, ckpt[k]!.length);
    plain[k]!.forEach((v, i) => assert.ok(Math.abs(v - ckpt[k]![i]!) <= 1e-12 * (1 + Math.abs(v)), `grad ${k}[${i}]: ${v} vs ${ckpt[k]![i]}`));
  }
  // The gradients are not trivially equal: another dropout seed gives others.
  assert.notDeepEqual(grads(false, 8)[0], plain[0]);
});

test("a checkpoint whose inputs need no gradient still trains the parameters inside", () => {
  T.tidy(() => {
    const w = T.tensor([[2]], { dtype: "float64", requiresGrad: true });
    const x = T.tensor([[3]], { dtype: "float64" });
    const [y] = T.checkpoint(([a]) => [T.linear(a!, w).square()], [x]);
    y!.sum().backward();
    assert.deepEqual(Array.from(w.grad!.toFloat64Array()), [2 * 6 * 3]);
  });
});

test("under noGrad the function simply runs; errors in the function surface as errors", () => {
  T.tidy(() => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    const [y] = T.noGrad(() => T.checkpoint(([a]) => [a!.mul(2)], [x]));
    assert.equal(y!.requiresGrad, false);
    assert.deepEqual(y!.toArray(), [2, 4]);
    let calls = 0;
    const [z] = T.checkpoint(([a]) => {
      if (calls++ > 0) throw new Error("boom");
      return [a!.mul(2)];
    }, [x]);
    assert.throws(() => z!.sum().backward(), /recomputation failed: boom/);
    assert.throws(() => T.checkpoint(() => [T.tensor([1, 2], { dtype: "int64" })], [x]), /floating-point/);
  });
});
