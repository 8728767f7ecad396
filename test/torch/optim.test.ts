import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { assertClose } from "./helpers.js";

test("AdamW steps equal the update formula computed by hand", () => {
  T.tidy(() => {
    const p0 = [0.5, -1.0, 2.0];
    const p = T.keep(T.tensor(p0, { dtype: "float64", requiresGrad: true }));
    const lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.05;
    const opt = new T.AdamW(new Map([["p", p]]), { lr, betas: [b1, b2], eps, weightDecay: wd });
    // By hand: loss = sum(c · p²) gives g = 2·c·p.
    const c = [1, 2, 3];
    let theta = [...p0], m = [0, 0, 0], v = [0, 0, 0];
    for (let step = 1; step <= 3; step++) {
      opt.zeroGrad();
      p.pow(2).mul(T.tensor(c, { dtype: "float64" })).sum().backward();
      opt.update();
      const g = theta.map((th, i) => 2 * c[i]! * th);
      theta = theta.map((th) => th * (1 - lr * wd));
      m = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
      v = v.map((vi, i) => b2 * vi + (1 - b2) * g[i]! ** 2);
      const mh = m.map((mi) => mi / (1 - b1 ** step));
      const vh = v.map((vi) => vi / (1 - b2 ** step));
      theta = theta.map((th, i) => th - (lr * mh[i]!) / (Math.sqrt(vh[i]!) + eps));
      assertClose(p, theta, 1e-12, `step ${step}`);
    }
    assert.equal(opt.step, 3);
    opt.dispose();
    p.dispose();
  });
});

test("AdamW state saves and restores: a restored optimizer continues identically", () => {
  T.tidy(() => {
    const make = () => T.keep(T.tensor([1, -2, 3], { dtype: "float64", requiresGrad: true }));
    const stepOnce = (p: T.Tensor, opt: T.AdamW) => {
      opt.zeroGrad();
      p.pow(3).sum().backward();
      opt.update();
    };
    const p1 = make(), p2 = make();
    const o1 = new T.AdamW(new Map([["w", p1]]), { lr: 0.01 });
    stepOnce(p1, o1);
    stepOnce(p1, o1);
    const saved = o1.stateDict();
    const o2 = new T.AdamW(new Map([["w", p2]]), { lr: 0.01 });
    T.noGrad(() => p2.copy_(p1));
    o2.loadStateDict(saved);
    stepOnce(p1, o1);
    stepOnce(p2, o2);
    assert.deepEqual(p2.toArray(), p1.toArray());
    assert.throws(() => o2.loadStateDict({ step: 1, tensors: new Map() }), /missing "w.exp_avg"/);
  });
});

test("SGD with momentum and nesterov follows torch.optim.SGD", () => {
  T.tidy(() => {
    const p = T.keep(T.tensor([1.0], { dtype: "float64", requiresGrad: true }));
    const opt = new T.SGD(new Map([["p", p]]), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 });
    let th = 1, buf = 0;
    for (let s = 1; s <= 3; s++) {
      opt.zeroGrad();
      p.pow(2).sum().backward(); // g = 2p
      opt.update();
      const g = 2 * th + 0.01 * th;
      buf = s === 1 ? g : 0.9 * buf + g;
      th -= 0.1 * (g + 0.9 * buf);
      assertClose(p, [th], 1e-12);
    }
  });
});

test("clipGradNorm scales to the max norm and returns the original norm", () => {
  T.tidy(() => {
    const a = T.tensor([3, 0], { dtype: "float64", requiresGrad: true });
    const b = T.tensor([4], { dtype: "float64", requiresGrad: true });
    a.grad = T.tensor([3, 0], { dtype: "float64" });
    b.grad = T.tensor([4], { dtype: "float64" });
    assertClose([T.gradNorm([a, b])], [5]);
    assertClose([T.clipGradNorm([a, b], 1)], [5]);
    assertClose(a.grad!, [3 / 5, 0], 1e-6);
    assertClose(b.grad!, [4 / 5], 1e-6);
    assertClose([T.clipGradNorm([a, b], 10)], [1], 1e-6);
    assertClose(b.grad!, [4 / 5], 1e-6);
    b.grad = T.tensor([NaN], { dtype: "float64" });
    assert.ok(Number.isNaN(T.clipGradNorm([a, b], 1)));
  });
});

test("the learning rate can change per step", () => {
  T.tidy(() => {
    const p = T.keep(T.tensor([1.0], { dtype: "float64", requiresGrad: true }));
    const opt = new T.SGD(new Map([["p", p]]), { lr: 0.5 });
    p.sum().backward();
    opt.update();
    opt.lr = 0.25;
    opt.update();
    assertClose(p, [1 - 0.5 - 0.25], 1e-12);
  });
});
