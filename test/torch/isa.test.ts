// Every fused kernel on every instruction-set path this CPU supports (T.setIsa: avx512, avx2,
// default), against a float64 reference computed by the plain libtorch compositions ("libtorch"
// path, none of our kernels). Tolerances are the rounding-error bounds of each computation, per
// element (u = 2⁻²⁴ for float32, 2⁻⁵³ for float64; γ_n = n·u/(1 − n·u)):
//   a product of k terms          γ_k·Σ|a||b|
//   softmax weights p = softmax(s) relative 2·max|δs| + (n + 8)·u, δs the scores' own error
//   σ(z) by the kernels' exp      relative (1 − σ)·(4 + 6|z|)·u + 2u (exp ≈ 2 ulp, the argument's
//                                 relative error ≤ 6u amplified by |z|(1 − σ))
// A float64 kernel is compared to a float64 reference whose own error is of the same size, so
// its tolerance is twice the bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as T from "../../src/torch/index.js";

type Dtype = "float32" | "float64";
const U: Record<Dtype, number> = { float32: 2 ** -24, float64: 2 ** -53 };
const gamma = (n: number, u: number) => (n * u) / (1 - n * u);

const kernelIsas = T.buildInfo().isas.filter((i) => i !== "libtorch");

/** Runs fn with the kernels of `isa`, restoring the path in use. */
function withIsa<R>(isa: T.Isa, fn: () => R): R {
  const saved = T.buildInfo().isa;
  T.setIsa(isa);
  try {
    return fn();
  } finally {
    T.setIsa(saved);
  }
}
const reference = <R>(fn: () => R) => withIsa("libtorch", fn);

/** |actual − expected| ≤ bound elementwise (NaN where expected is NaN), with the worst ratio in the message. */
function assertWithin(actual: T.Tensor, expected: T.Tensor, bound: T.Tensor, what: string): void {
  const a = actual.double().contiguous().toArray(), e = expected.double().contiguous().toArray();
  const b = bound.double().expand(...expected.shape).contiguous().toArray();
  assert.equal(a.length, e.length, `${what}: ${a.length} values, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i]!)) {
      assert.ok(Number.isNaN(a[i]!), `${what}[${i}]: got ${a[i]}, expected NaN`);
      continue;
    }
    const err = Math.abs(a[i]! - e[i]!);
    assert.ok(err <= b[i]!, `${what}[${i}]: got ${a[i]}, expected ${e[i]}: error ${err.toExponential(3)} > bound ${b[i]!.toExponential(3)}`);
  }
}

/** Random values exactly representable in float32, held as `dtype`. */
function randn(shape: number[], dtype: Dtype, scale = 1): T.Tensor {
  return T.randn(shape).mul(scale).to(dtype);
}

test("every path this CPU supports is listed, the default is the best, and an unknown or missing one is refused", () => {
  const info = T.buildInfo();
  assert.ok(info.isas.includes("default") && info.isas.includes("libtorch"), `isas: ${info.isas.join(", ")}`);
  if (process.env.FGRPO_ISA === undefined) assert.equal(info.isa, info.isas[0]);
  assert.throws(() => T.setIsa("avx3" as T.Isa), /setIsa=avx3: unknown instruction set \(this CPU supports .*default/);
  for (const isa of ["avx512", "avx2"] as const) {
    if (!info.isas.includes(isa)) assert.throws(() => T.setIsa(isa), /this CPU lacks it/);
  }
  assert.equal(T.buildInfo().isa, info.isa, "a refused switch leaves the path as it was");
});

test("FGRPO_ISA picks the path at load, and the CLI refuses an unknown one in one line", () => {
  const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
  const version = (isa: string) => spawnSync(process.execPath, [cli, "--version"], { env: { ...process.env, FGRPO_ISA: isa }, encoding: "utf8" });
  const ok = version("default");
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /kernels default;/);
  const bad = version("sse9");
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.trim(), `fgrpo: FGRPO_ISA=sse9: unknown instruction set (this CPU supports ${T.buildInfo().isas.join(", ")})`);
});

test("skinny products (decoding rows × a weight matrix) on every path: within γ_k·|x|·|w|", () => {
  T.manualSeed(21);
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 7, 3], [2, 49, 64], [3, 100, 257], [4, 24, 64], [5, 47, 33], [7, 130, 16], [8, 1408, 256], [9, 65, 70], [13, 8, 128], [16, 200, 48]];
  for (const [m, n, k] of shapes) {
    T.tidy(() => {
      const x = randn([m, k], "float32"), w = randn([k, n], "float32");
      const expected = x.double().matmul(w.double());
      const bound = x.double().abs().matmul(w.double().abs()).mul(gamma(k, U.float32));
      for (const isa of kernelIsas) assertWithin(withIsa(isa, () => x.matmul(w)), expected, bound, `${isa} ${m}×${k}·${k}×${n}`);
      // A strided row view (one row of a packed projection) reads the same.
      const wide = randn([m, 2 * k], "float32").narrow(1, 0, k);
      const expectedWide = wide.double().matmul(w.double());
      const boundWide = wide.double().abs().matmul(w.double().abs()).mul(gamma(k, U.float32));
      for (const isa of kernelIsas) assertWithin(withIsa(isa, () => wide.matmul(w)), expectedWide, boundWide, `${isa} strided ${m}×${k}`);
    });
  }
});

/** σ(z) and the absolute error bound of the kernels' σ(z) in float32 (see the header). */
function sigmoidBound(z: T.Tensor): { s: T.Tensor; err: T.Tensor } {
  const u = U.float32;
  const s = z.sigmoid();
  const rel = T.ones(z.shape, { dtype: "float64" }).sub(s).mul(z.abs().mul(6).add(4)).add(2).mul(u);
  // Below σ = 2⁻¹²⁶ the kernels' exp saturates (e^88.3) where the exact σ keeps shrinking.
  return { s, err: s.mul(rel).add(2 ** -126) };
}

test("tanh-GELU forward and backward on every path: within the bound of x·σ(2u)", () => {
  T.tidy(() => {
    const u = U.float32;
    const x = T.cat([T.arange(-1200, 1201, 1, { dtype: "float32" }).div(100), T.tensor([0, 1e-30, -1e-30, 30, -30, 90, -90, 1e4, -1e4])]).float();
    const g = T.randn(x.shape);
    const xd = x.double(), gd = g.double();
    const c = Math.sqrt(2 / Math.PI);
    const du = xd.square().mul(3 * 0.044715).add(1).mul(2 * c);
    const z = xd.add(xd.pow(3).mul(0.044715)).mul(2 * c);
    const { s, err: es } = sigmoidBound(z);
    const y = xd.mul(s);
    const boundY = xd.abs().mul(es).add(y.abs().mul(2 * u));
    // dx = g·(σ + x·σ(1 − σ)·du): (1 − σ) carries σ's absolute error, and du 4 roundings.
    const oneMinus = s.neg().add(1);
    const e1 = es.add(oneMinus.mul(u));
    const t = xd.mul(s).mul(oneMinus).mul(du);
    const errT = xd.mul(du).abs().mul(es.mul(oneMinus).add(s.mul(e1)).add(s.mul(oneMinus).mul(8 * u)));
    const dx = gd.mul(s.add(t));
    const boundDx = gd.abs().mul(es.add(errT).add(s.add(t).abs().mul(3 * u))).add(dx.abs().mul(u));
    for (const isa of kernelIsas) {
      withIsa(isa, () => {
        const leaf = x.detach().requiresGrad_();
        const out = leaf.gelu("tanh");
        assertWithin(out, y, boundY, `${isa} gelu`);
        out.backward(g);
        assertWithin(leaf.grad!, dx, boundDx, `${isa} gelu gradient`);
      });
    }
  });
});

test("silu(gate)·up forward and backward on every path, packed halves included: within the bound of g·σ(g)·u", () => {
  T.tidy(() => {
    T.manualSeed(22);
    const u = U.float32;
    const gate = T.cat([T.arange(-1200, 1201, 1, { dtype: "float32" }).div(100), T.tensor([0, 1e-30, -1e-30, 30, -30, 90, -90, 1e4, -1e4])]).float();
    const up = T.randn(gate.shape), dy = T.randn(gate.shape);
    const g = gate.double(), ud = up.double(), dyd = dy.double();
    const { s, err: es } = sigmoidBound(g);
    const y = g.mul(s).mul(ud);
    const boundY = g.mul(ud).abs().mul(es).add(y.abs().mul(3 * u));
    // du = dy·g·σ; dg = dy·u·σ·(1 + g·(1 − σ)), (1 − σ) carrying σ's absolute error.
    const dU = dyd.mul(g).mul(s);
    const boundDu = dyd.mul(g).abs().mul(es).add(dU.abs().mul(2 * u));
    const oneMinus = s.neg().add(1);
    const inner = g.mul(oneMinus).add(1);
    const errInner = g.abs().mul(es.add(oneMinus.mul(u))).add(g.mul(oneMinus).abs().mul(2 * u)).add(inner.abs().mul(u));
    const dG = dyd.mul(ud).mul(s).mul(inner);
    const boundDg = dyd.mul(ud).abs().mul(es.mul(inner.abs()).add(s.mul(errInner))).add(dG.abs().mul(3 * u));
    for (const isa of kernelIsas) {
      withIsa(isa, () => {
        const a = gate.detach().requiresGrad_(), b = up.detach().requiresGrad_();
        const out = T.siluMul(a, b);
        assertWithin(out, y, boundY, `${isa} siluMul`);
        out.backward(dy);
        assertWithin(a.grad!, dG, boundDg, `${isa} siluMul d gate`);
        assertWithin(b.grad!, dU, boundDu, `${isa} siluMul d up`);
        // The two halves of one packed projection, read in place (rows 2·cols apart).
        const packed = T.randn([5, 2, 37]);
        const [pg, pu] = [packed.select(1, 0), packed.select(1, 1)];
        const ps = sigmoidBound(pg.double());
        const py = pg.double().mul(ps.s).mul(pu.double());
        const pb = pg.double().mul(pu.double()).abs().mul(ps.err).add(py.abs().mul(3 * u));
        T.noGrad(() => assertWithin(T.siluMul(pg, pu), py, pb, `${isa} packed siluMul`));
      });
    }
  });
});

/** RMSNorm of x [rows, d] as plain ops in float64, with its rstd. */
function rmsReference(x: T.Tensor, w: T.Tensor | null, eps: number): { y: T.Tensor; rstd: T.Tensor } {
  const rstd = x.square().mean([-1], true).add(eps).rsqrt();
  const y = x.mul(rstd);
  return { y: w ? y.mul(w) : y, rstd };
}

test("RMSNorm forward and backward on every path, float32 and float64, with and without weight: within the bound of x·rstd·w", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [rows, d] of [[1, 1], [3, 7], [8, 256], [5, 37]] as const) {
      for (const weighted of [true, false]) {
        T.tidy(() => {
          T.manualSeed(23 + d);
          const u = U[dtype], slack = dtype === "float64" ? 2 : 1;
          const x = randn([rows, d], dtype, 3), w = weighted ? randn([d], dtype) : null, g = randn([rows, d], dtype);
          const eps = 1e-5;
          const expected = reference(() => {
            const xl = x.double().detach().requiresGrad_(), wl = w ? w.double().detach().requiresGrad_() : null;
            const { y } = rmsReference(xl, wl, eps);
            y.backward(g.double());
            return { y: y.detach(), dx: xl.grad!, dw: wl?.grad ?? null };
          });
          const xd = x.double(), gd = g.double(), wd = w ? w.double() : T.ones([d], { dtype: "float64" });
          const { rstd } = rmsReference(xd, null, eps);
          // rstd: the sum of squares (γ_d), the mean and eps (2u), sqrt (u, halved error) and 1/ (u).
          const rRs = (gamma(d, u) + 2 * u) / 2 + 2 * u;
          const boundY = expected.y.abs().mul(rRs + 2 * u).mul(slack);
          // dx = rstd·g·w − x·c, c = rstd³·Σ(g·w·x)/d.
          const gwx = gd.mul(wd).mul(xd);
          const sumAbs = gwx.abs().sum([-1], true);
          const c = rstd.pow(3).mul(gwx.sum([-1], true)).div(d);
          const errC = rstd.pow(3).div(d).mul(sumAbs).mul(gamma(d + 2, u)).add(c.abs().mul(3 * rRs + 4 * u));
          const boundDx = rstd.mul(gd).mul(wd).abs().mul(rRs + 2 * u).add(xd.abs().mul(errC)).add(xd.mul(c).abs().mul(u)).add(expected.dx.abs().mul(u)).mul(slack);
          // dw = Σ_rows g·x·rstd, each term to rRs + 2u, summed in float64, rounded once.
          const boundDw = gd.mul(xd).mul(rstd).abs().sum([0]).mul(rRs + 2 * u).add(expected.dw ? expected.dw.abs().mul(u) : 0).mul(slack);
          for (const isa of kernelIsas) {
            withIsa(isa, () => {
              const xl = x.detach().requiresGrad_(), wl = w ? w.detach().requiresGrad_() : null;
              const y = T.rmsNorm(xl, wl, eps);
              assertWithin(y, expected.y, boundY, `${isa} ${dtype} rmsNorm [${rows}, ${d}]`);
              y.backward(g);
              assertWithin(xl.grad!, expected.dx, boundDx, `${isa} ${dtype} rmsNorm dx`);
              if (wl) assertWithin(wl.grad!, expected.dw!, boundDw, `${isa} ${dtype} rmsNorm dw`);
              T.noGrad(() => assertWithin(T.rmsNorm(x, w, eps), expected.y, boundY, `${isa} ${dtype} rmsNorm without autograd`));
            });
          }
        });
      }
    }
  }
});

test("rotary embedding forward and backward on every path, float32 and float64, both pairings: within γ₂·(|x·cos| + |x_p·sin|)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const interleaved of [false, true]) {
      T.tidy(() => {
        T.manualSeed(24);
        const u = U[dtype], slack = dtype === "float64" ? 2 : 1;
        const [b, h, t, d] = [2, 3, 5, 18];
        const x = randn([b, h, t, d], dtype), g = randn([b, h, t, d], dtype);
        const cos = randn([1, 1, t, d], dtype), sin = randn([1, 1, t, d], dtype);
        const ropeRef = (xx: T.Tensor, cc: T.Tensor, ss: T.Tensor, gg: T.Tensor) =>
          reference(() => {
            const leaf = xx.double().detach().requiresGrad_();
            const y = T.rope(leaf, cc.double(), ss.double(), { interleaved });
            y.backward(gg.double());
            return { y: y.detach(), dx: leaf.grad! };
          });
        const expected = ropeRef(x, cos, sin, g);
        const magnitude = ropeRef(x.abs(), cos.abs(), sin.abs(), g.abs());
        const boundY = magnitude.y.mul(gamma(2, u)).add(expected.y.abs().mul(u)).mul(slack);
        const boundDx = magnitude.dx.mul(gamma(2, u)).add(expected.dx.abs().mul(u)).mul(slack);
        for (const isa of kernelIsas) {
          withIsa(isa, () => {
            const leaf = x.detach().requiresGrad_();
            const y = T.rope(leaf, cos, sin, { interleaved });
            assertWithin(y, expected.y, boundY, `${isa} ${dtype} rope`);
            y.backward(g);
            assertWithin(leaf.grad!, expected.dx, boundDx, `${isa} ${dtype} rope dx`);
          });
        }
      });
    }
  }
});

/**
 * The float64 attention reference for q [B, H, Tq, D], k, v [B, H, Tk, ·] and a bool mask
 * (true = attend) broadcast to [B, H, Tq, Tk], with the error bound of softmax(q·kᵀ·scale)·v in
 * precision u: the scores to γ_D·|q|·|k|·scale, the weights to r_p = 2·max|δs| + (Tk + 8)·u, the
 * weighted sum to (r_p + γ_Tk)·P·|v|.
 */
function attentionReference(q: T.Tensor, k: T.Tensor, v: T.Tensor, allowed: T.Tensor, u: number) {
  const [qd, kd, vd] = [q.double(), k.double(), v.double()];
  const d = q.size(-1), tk = k.size(2), scale = 1 / Math.sqrt(d);
  const blocked = allowed.logicalNot();
  const s = qd.matmul(kd.transpose(-2, -1)).mul(scale);
  const ds = qd.abs().matmul(kd.abs().transpose(-2, -1)).mul(scale * gamma(d, u)).add(s.abs().mul(u)).maskedFill(blocked, 0);
  const p = s.maskedFill(blocked, -Infinity).softmax(-1);
  const rP = ds.maxDim(-1, true)[0].mul(2).add((tk + 8) * u);
  const out = p.matmul(vd);
  const bound = p.matmul(vd.abs()).mul(rP.add(gamma(tk, u)));
  return { p, rP, out, bound, s: scale };
}

test("decoding attention (a few queries, no autograd) on every path, float32 and float64, causal and padded: within the softmax·v bound", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [tq, tk] of [[1, 1], [1, 37], [3, 20], [15, 64]] as const) {
      T.tidy(() => {
        T.manualSeed(25 + tk);
        const u = U[dtype], slack = dtype === "float64" ? 2 : 1;
        const [b, h, d] = [3, 2, 24];
        const q = randn([b, h, tq, d], dtype, 2), k = randn([b, h, tk, d], dtype, 2), v = randn([b, h, tk, d + 3], dtype);
        // Causal within the keys, and batch row 1 padded on its first keys.
        const causal = T.ones([tq, tk], { dtype: "bool" }).tril(tk - tq).view(1, 1, tq, tk);
        const pad = T.ones([b, 1, 1, tk], { dtype: "bool" }).clone();
        if (tk > 2) pad.narrow(0, 1, 1).narrow(3, 0, 2).fill_(0);
        const allowed = causal.logicalAnd(pad);
        const refCausal = attentionReference(q, k, v, causal.expand(b, h, tq, tk), u);
        const refMasked = attentionReference(q, k, v, allowed.expand(b, h, tq, tk), u);
        for (const isa of kernelIsas) {
          withIsa(isa, () =>
            T.noGrad(() => {
              assertWithin(T.attention(q, k, v, { causal: true }), refCausal.out, refCausal.bound.mul(slack), `${isa} ${dtype} causal ${tq}×${tk}`);
              assertWithin(T.attention(q, k, v, { mask: allowed }), refMasked.out, refMasked.bound.mul(slack), `${isa} ${dtype} masked ${tq}×${tk}`);
            }),
          );
        }
      });
    }
  }
});

test("attention from 16 queries (the softmax kernel, forward and backward) on every path, float32 and float64: within the chained bounds", () => {
  for (const dtype of ["float32", "float64"] as const) {
    T.tidy(() => {
      T.manualSeed(26);
      const u = U[dtype], slack = dtype === "float64" ? 2 : 1;
      const [b, h, tq, tk, d] = [2, 2, 17, 40, 16];
      const q = randn([b, h, tq, d], dtype, 2), k = randn([b, h, tk, d], dtype, 2), v = randn([b, h, tk, d], dtype), dO = randn([b, h, tq, d], dtype);
      const allowed = T.ones([tq, tk], { dtype: "bool" }).tril(tk - tq).view(1, 1, tq, tk).expand(b, h, tq, tk);
      const ref = attentionReference(q, k, v, allowed, u);
      const grads = reference(() => {
        const leaves = [q, k, v].map((x) => x.double().detach().requiresGrad_());
        T.attention(leaves[0]!, leaves[1]!, leaves[2]!, { causal: true }).backward(dO.double());
        return leaves.map((x) => x.grad!);
      });
      // dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P))·scale; dQ = dS·K; dK = dSᵀ·Q.
      const [qd, kd, vd, dOd] = [q.double(), k.double(), v.double(), dO.double()];
      const t = (x: T.Tensor) => x.transpose(-2, -1);
      const errDv = t(ref.p).matmul(dOd.abs()).mul(ref.rP.maxDim(2, true)[0].add(gamma(tq, u)));
      const dP = dOd.matmul(t(vd));
      const errDp = dOd.abs().matmul(t(vd.abs())).mul(gamma(d, u));
      const dot = dP.mul(ref.p).sum([-1], true);
      const errDot = errDp.mul(ref.p).add(dP.abs().mul(ref.p).mul(ref.rP.add(gamma(tk, u)))).sum([-1], true);
      const dS = ref.p.mul(dP.sub(dot)).mul(ref.s);
      const errDs = ref.p.mul(errDp.add(errDot).add(dP.sub(dot).abs().mul(ref.rP.add(3 * u)))).mul(ref.s);
      const errDq = errDs.matmul(kd.abs()).add(dS.abs().matmul(kd.abs()).mul(gamma(tk, u)));
      const errDk = t(errDs).matmul(qd.abs()).add(t(dS.abs()).matmul(qd.abs()).mul(gamma(tq, u)));
      for (const isa of kernelIsas) {
        withIsa(isa, () => {
          const leaves = [q, k, v].map((x) => x.detach().requiresGrad_());
          const out = T.attention(leaves[0]!, leaves[1]!, leaves[2]!, { causal: true });
          assertWithin(out, ref.out, ref.bound.mul(slack), `${isa} ${dtype} attention`);
          out.backward(dO);
          assertWithin(leaves[0]!.grad!, grads[0]!, errDq.mul(slack), `${isa} ${dtype} dq`);
          assertWithin(leaves[1]!.grad!, grads[1]!, errDk.mul(slack), `${isa} ${dtype} dk`);
          assertWithin(leaves[2]!.grad!, grads[2]!, errDv.mul(slack), `${isa} ${dtype} dv`);
        });
      }
    });
  }
});

function indices(values: number[]): T.Tensor {
  return T.tensor(BigInt64Array.from(values, (x) => BigInt(x)));
}

test("shared-prefix attention on every path, float32 and float64, grouped heads and padding: within the softmax·v bound over each row's keys", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [tq, lp, ls, d] of [[1, 37, 1, 16], [1, 131, 5, 64], [2, 64, 3, 24]] as const) {
      T.tidy(() => {
        T.manualSeed(27 + lp);
        const u = U[dtype], slack = dtype === "float64" ? 2 : 1;
        const [p, g, h, hkv] = [2, 3, 4, 2];
        const bsz = p * g, rep = h / hkv;
        const q = randn([bsz, h, tq, d], dtype, 2);
        const pk = randn([p, hkv, lp, d], dtype, 2), pv = randn([p, hkv, lp, d + 1], dtype);
        const sk = randn([bsz, hkv, ls, d], dtype, 2), sv = randn([bsz, hkv, ls, d + 1], dtype);
        const mask = T.ones([p, lp], { dtype: "bool" }).clone();
        mask.narrow(0, 1, 1).narrow(1, 0, 3).fill_(0);
        // Each row's keys written out: its prompt's prefix then its suffix, heads repeated.
        const rows = indices(Array.from({ length: bsz }, (_, i) => Math.floor(i / g)));
        const heads = indices(Array.from({ length: h }, (_, i) => Math.floor(i / rep)));
        const keysOf = (pre: T.Tensor, suf: T.Tensor) => T.cat([pre.indexSelect(0, rows), suf], 2).indexSelect(1, heads);
        const causal = T.ones([tq, ls], { dtype: "bool" }).tril(ls - tq).view(1, 1, tq, ls).expand(bsz, 1, tq, ls);
        const allowed = T.cat([mask.indexSelect(0, rows).view(bsz, 1, 1, lp).expand(bsz, 1, tq, lp), causal], 3).expand(bsz, h, tq, lp + ls);
        const ref = attentionReference(q, keysOf(pk, sk), keysOf(pv, sv), allowed, u);
        for (const isa of kernelIsas) {
          withIsa(isa, () =>
            T.noGrad(() => {
              const out = T.prefixAttention(q, { keys: pk, values: pv, mask }, { keys: sk, values: sv });
              assertWithin(out, ref.out, ref.bound.mul(slack), `${isa} ${dtype} prefix ${lp}+${ls}, ${tq} queries`);
              // The layout a prefix cache keeps: keys transposed in memory.
              const pkT = pk.transpose(2, 3).contiguous().transpose(2, 3);
              const outT = T.prefixAttention(q, { keys: pkT, values: pv, mask }, { keys: sk, values: sv });
              assertWithin(outT, ref.out, ref.bound.mul(slack), `${isa} ${dtype} prefix, transposed keys`);
            }),
          );
        }
      });
    }
  }
});
