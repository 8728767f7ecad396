import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { assertClose } from "./helpers.js";

test("backward accumulates into leaves; zeroGrad clears", () => {
  T.tidy(() => {
    const x = T.tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    assert.ok(x.requiresGrad && x.isLeaf);
    x.mul(x).sum().backward();
    assertClose(x.grad!, [2, 4, 6]);
    x.mul(3).sum().backward();
    assertClose(x.grad!, [5, 7, 9]);
    x.zeroGrad();
    assert.equal(x.grad, null);
  });
});

test("backward with a gradient argument, and retainGraph", () => {
  T.tidy(() => {
    const x = T.tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const y = x.mul(x);
    y.backward(T.tensor([1, 10], { dtype: "float64" }), true);
    assertClose(x.grad!, [2, 40]);
    y.backward(T.tensor([1, 0], { dtype: "float64" }));
    assertClose(x.grad!, [4, 40]);
    assert.throws(() => y.backward(T.tensor([1, 0], { dtype: "float64" })), /backward through the graph a second time|Trying to backward/);
  });
});

test("grad() returns gradients without touching .grad", () => {
  T.tidy(() => {
    const x = T.tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const z = T.tensor([3], { dtype: "float64", requiresGrad: true });
    const y = x.mul(x).sum();
    const [gx, gz] = T.grad(y, [x, z], { allowUnused: true });
    assertClose(gx!, [2, 4]);
    assert.equal(gz, null);
    assert.equal(x.grad, null);
  });
});

test("noGrad records no history; detach cuts it; grad setter", () => {
  T.tidy(() => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    const y = T.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(T.isGradEnabled(), true);
    assert.equal(T.noGrad(() => T.enableGrad(() => x.mul(2)).requiresGrad), true);
    assert.equal(x.mul(2).detach().requiresGrad, false);
    x.grad = T.tensor([5, 5]);
    assertClose(x.grad!, [5, 5]);
    x.grad = null;
    assert.equal(x.grad, null);
  });
});
