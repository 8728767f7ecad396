// The hand-written kernels of native/: tanh-GELU and silu·up in float32, attention's per-(batch, head)
// path (taken from 16 queries up, so the small cases of ops.test.ts and gradcheck.test.ts do not
// reach it). Each is checked against the plain composition of ops, values and gradients.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { assertClose, assertWithinBound, gamma32 } from "./helpers.js";

/** γ_n·(|a|·|b|) in float64: the float32 error bound of the product a·b when n roundings touch each term. */
function productBound(a: T.Tensor, b: T.Tensor, n: number): number[] {
  return a.double().abs().matmul(b.double().abs()).mul(gamma32(n)).toArray();
}

const f64 = { dtype: "float64" as const };

/** softmax(QKᵀ·scale + mask)V with broadcasting, written with plain ops. */
function explicitAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, additive: T.Tensor | null): T.Tensor {
  let scores = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(q.size(-1)));
  if (additive !== null) scores = scores.add(additive);
  return scores.softmax(-1).matmul(v);
}

/**
 * The float32 error bound of attention's output, from a float64 reference (Higham's γ_n per
 * rounding chain): each score s = q·k/√d is off by at most δ = γ_{d+2}·(|q|·|k|)/√d (the dot
 * product and the rounding of q, k to float32); a score error shifts each softmax weight p_j by at
 * most a relative 2·max δ, and the weighted sum of T values adds γ_{2T+6} (exp, the normaliser, the
 * sum, the rounding of v). So |out − out64| ≤ (2·max_j δ_j + γ_{2T+6})·Σ_j p_j|v_j| per row.
 */
function attentionBound(q: T.Tensor, k: T.Tensor, v: T.Tensor, keyMask: T.Tensor): number[] {
  const d = q.size(-1), tk = k.size(-2);
  const allowed = keyMask.expand(q.size(0), q.size(1), q.size(2), tk);
  const scoreError = q.abs().matmul(k.abs().transpose(-2, -1)).div(Math.sqrt(d)).mul(gamma32(d + 2)).maskedFill(allowed.logicalNot(), 0);
  const maxError = scoreError.maxDim(-1, true)[0];
  const p = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(d)).maskedFill(allowed.logicalNot(), -Infinity).softmax(-1);
  return p.matmul(v.abs()).mul(maxError.mul(2).add(gamma32(2 * tk + 6))).toArray();
}

function causalAdditive(tq: number, tk: number, dtype: "float32" | "float64"): T.Tensor {
  const allowed = T.ones([tq, tk], { dtype: "bool" }).tril(tk - tq);
  return T.zeros([tq, tk], { dtype }).maskedFill(allowed.logicalNot(), -Infinity);
}

function gradsOf(fn: (xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], weight: T.Tensor): T.Tensor[] {
  const leaves = inputs.map((x) => x.detach().requiresGrad_());
  fn(leaves).mul(weight).sum().backward();
  return leaves.map((x) => x.grad!);
}

test("sliced attention equals the explicit composition: causal, bool and additive masks, broadcast heads, 1 and 2 threads", () => {
  const saved = { intraOp: T.getNumThreads(), blas: T.getBlasThreads() ?? 1 };
  try {
    for (const blas of [1, 2]) {
      T.setNumThreads(1, blas);
      T.tidy(() => {
        T.manualSeed(11);
        const [b, h, tq, tk, d] = [2, 3, 17, 24, 8];
        const q = T.randn([b, h, tq, d], f64), k = T.randn([b, h, tk, d], f64), v = T.randn([b, h, tk, 5], f64);
        const causal = causalAdditive(tq, tk, "float64");
        assertClose(T.attention(q, k, v, { causal: true }), explicitAttention(q, k, v, causal).toArray(), 1e-10, "causal");
        // Padding: the first 4 keys of batch row 1 are masked, as a bool mask [B, 1, 1, Tk].
        const keys = T.ones([b, 1, 1, tk], { dtype: "bool" }).clone();
        keys.narrow(0, 1, 1).narrow(3, 0, 4).fill_(0);
        const padAdditive = T.zeros([b, 1, 1, tk], f64).maskedFill(keys.logicalNot(), -Infinity);
        assertClose(T.attention(q, k, v, { mask: keys }), explicitAttention(q, k, v, padAdditive).toArray(), 1e-10, "bool mask");
        const bias = T.randn([1, h, tq, tk], f64);
        assertClose(T.attention(q, k, v, { mask: bias }), explicitAttention(q, k, v, bias).toArray(), 1e-10, "additive mask");
        // One key/value head shared by every query head, passed broadcast.
        const k1 = k.narrow(1, 0, 1), v1 = v.narrow(1, 0, 1);
        assertClose(T.attention(q, k1, v1, { causal: true }), explicitAttention(q, k1, v1, causal).toArray(), 1e-10, "broadcast heads");
        // Strided inputs (a permuted packed projection, as in GPT-2 blocks).
        const packed = T.randn([b, tq, 3, h, d], f64).permute(2, 0, 3, 1, 4);
        const [qs, ks, vs] = [packed.select(0, 0), packed.select(0, 1), packed.select(0, 2)];
        const out = T.attention(qs, ks, vs, { causal: true });
        assertClose(out, explicitAttention(qs, ks, vs, causalAdditive(tq, tq, "float64")).toArray(), 1e-10, "strided");
        assertClose(out.transpose(1, 2).reshape(b, tq, h * d), out.transpose(1, 2).contiguous().view(b, tq, h * d).toArray(), 0, "layout");
      });
    }
  } finally {
    T.setNumThreads(saved.intraOp, saved.blas);
  }
});

test("sliced attention gradients equal the explicit composition's, and finite differences", () => {
  T.tidy(() => {
    T.manualSeed(12);
    const [b, h, tq, tk, d] = [2, 2, 16, 20, 3];
    const inputs = [T.randn([b, h, tq, d], f64), T.randn([b, 1, tk, d], f64), T.randn([b, 1, tk, d], f64)];
    const weight = T.randn([b, h, tq, d], f64);
    const causal = causalAdditive(tq, tk, "float64");
    const fused = gradsOf(([q, k, v]) => T.attention(q!, k!, v!, { causal: true }), inputs, weight);
    const plain = gradsOf(([q, k, v]) => explicitAttention(q!, k!, v!, causal), inputs, weight);
    for (let i = 0; i < 3; i++) assertClose(fused[i]!, plain[i]!.toArray(), 1e-10, `grad ${"qkv"[i]}`);
    const small = [T.randn([1, 2, 16, 2], f64), T.randn([1, 2, 16, 2], f64), T.randn([1, 2, 16, 2], f64)];
    const r = T.gradcheck(([q, k, v]) => T.attention(q!, k!, v!, { causal: true }), small);
    assert.ok(r.maxError < 1e-6, `max relative error ${r.maxError}`);
  });
});

test("float32 sliced attention agrees with float64 within float32 precision", () => {
  T.tidy(() => {
    T.manualSeed(13);
    const [q, k, v] = [0, 1, 2].map(() => T.randn([2, 4, 32, 16], f64));
    const w = T.randn([2, 4, 32, 16], f64);
    const reference = gradsOf(([a, b, c]) => T.attention(a!, b!, c!, { causal: true }), [q!, k!, v!], w);
    const single = gradsOf(([a, b, c]) => T.attention(a!, b!, c!, { causal: true }), [q!, k!, v!].map((x) => x.float()), w.float());
    for (let i = 0; i < 3; i++) assertClose(single[i]!, reference[i]!.toArray(), 1e-4, `grad ${"qkv"[i]}`);
    // Padded keys (the first 5 of batch row 0) get exactly zero weight in float32 too.
    const keys = T.ones([2, 1, 1, 32], { dtype: "bool" }).clone();
    keys.narrow(0, 0, 1).narrow(3, 0, 5).fill_(0);
    const vPadded = v!.clone();
    vPadded.narrow(0, 0, 1).narrow(2, 0, 5).fill_(1e6);
    const masked64 = T.attention(q!, k!, vPadded, { mask: keys });
    assertWithinBound(T.attention(q!.float(), k!.float(), vPadded.float(), { mask: keys }), masked64.toArray(), attentionBound(q!, k!, vPadded, keys), "padded");
  });
});

test("tanh-GELU's float32 kernel matches the float64 formula, values and gradients, over the whole range", () => {
  T.tidy(() => {
    const xs = T.cat([T.arange(-3000, 3001, 1, f64).div(100), T.tensor([0, -0, 1e-30, -1e-30, 90, -90, 1e4, -1e4], f64)]);
    const u = xs.add(xs.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    const expected = xs.mul(u.tanh().add(1)).mul(0.5);
    const x32 = xs.float().requiresGrad_();
    const y = x32.gelu("tanh");
    assertClose(y, expected.toArray(), 2e-6, "gelu");
    y.backward(T.ones(y.shape));
    const x64 = xs.detach().requiresGrad_();
    x64.gelu("tanh").sum().backward();
    assertClose(x32.grad!, x64.grad!.toArray(), 2e-6, "gelu gradient");
    // A non-contiguous input gives the same values as its contiguous copy.
    const m = T.randn([64, 48]).transpose(0, 1);
    assertClose(m.gelu("tanh"), m.contiguous().gelu("tanh").toArray(), 0, "strided");
  });
});

test("silu(gate)·up's float32 kernel matches the float64 composition, values and gradients, over the whole range", () => {
  T.tidy(() => {
    T.manualSeed(14);
    const gate = T.cat([T.arange(-3000, 3001, 1, f64).div(100), T.tensor([0, -0, 1e-30, -1e-30, 90, -90, 1e4, -1e4], f64)]);
    const up = T.randn(gate.shape, f64);
    const dy = T.randn(gate.shape, f64);
    const g32 = gate.float().requiresGrad_(), u32 = up.float().requiresGrad_();
    const y = T.siluMul(g32, u32);
    // The float32 inputs are the rounded float64 ones, so compare with the composition in float64 of those.
    const [g64, u64] = [g32.detach().double().requiresGrad_(), u32.detach().double().requiresGrad_()];
    const expected = g64.silu().mul(u64);
    assertClose(y, expected.toArray(), 2e-6, "silu·up");
    y.backward(dy.float());
    expected.backward(dy);
    assertClose(g32.grad!, g64.grad!.toArray(), 2e-6, "gate gradient");
    assertClose(u32.grad!, u64.grad!.toArray(), 2e-6, "up gradient");
    // Strided halves of one packed projection (the inference path) equal their contiguous copies.
    const packed = T.randn([8, 1, 2 * 24]);
    const [a, b] = [packed.narrow(2, 0, 24), packed.narrow(2, 24, 24)];
    assertClose(T.siluMul(a, b), T.siluMul(a.contiguous(), b.contiguous()).toArray(), 0, "strided");
    // Broadcasting shapes and float64 take the composition; its gradients pass a finite-difference check.
    assertClose(T.siluMul(T.randn([3, 1]), T.ones([1, 4])).shape, [3, 4], 0, "broadcast shape");
    const r = T.gradcheck(([x, z]) => T.siluMul(x!, z!), [T.randn([5], f64), T.randn([5], f64)]);
    assert.ok(r.maxError < 1e-6, `max relative error ${r.maxError}`);
  });
});

/** x·cos + x[p]·sin with an explicit gather. */
function explicitRope(x: T.Tensor, cos: T.Tensor, sin: T.Tensor, interleaved: boolean): T.Tensor {
  const d = x.size(-1);
  const perm = Array.from({ length: d }, (_, i) => (interleaved ? i ^ 1 : (i + d / 2) % d));
  return x.mul(cos).add(x.indexSelect(3, T.tensor(perm, { dtype: "int64" })).mul(sin));
}

test("rope equals its composition for both conventions, strided inputs included; gradients match and pass finite differences", () => {
  T.tidy(() => {
    T.manualSeed(14);
    for (const interleaved of [false, true]) {
      const x = T.randn([2, 5, 3, 8], f64).transpose(1, 2); // [B, H, T, D] over a [B, T, H, D] buffer
      const cos = T.randn([2, 1, 5, 8], f64), sin = T.randn([2, 1, 5, 8], f64);
      assertClose(T.rope(x, cos, sin, { interleaved }), explicitRope(x, cos, sin, interleaved).toArray(), 1e-12, `values interleaved=${interleaved}`);
      const w = T.randn([2, 3, 5, 8], f64);
      const [fused] = gradsOf(([a]) => T.rope(a!, cos, sin, { interleaved }), [x], w);
      const [plain] = gradsOf(([a]) => explicitRope(a!, cos, sin, interleaved), [x], w);
      assertClose(fused!, plain!.toArray(), 1e-12, `gradient interleaved=${interleaved}`);
      const r = T.gradcheck(([a]) => T.rope(a!, cos.narrow(0, 0, 1), sin.narrow(0, 0, 1), { interleaved }), [T.randn([1, 2, 5, 8], f64)]);
      assert.ok(r.maxError < 1e-6, `max relative error ${r.maxError}`);
      // float32 takes the same kernel; bfloat16 takes the composition.
      // x·cos + rot(x)·sin in float32: 3 inputs rounded, 2 products and a sum → γ_5·(|x|·|cos| + |rot(x)|·|sin|).
      const ropeBound = explicitRope(x.abs(), cos.abs(), sin.abs(), interleaved).mul(gamma32(5)).toArray();
      assertWithinBound(T.rope(x.float(), cos.float(), sin.float(), { interleaved }), explicitRope(x, cos, sin, interleaved).toArray(), ropeBound, "float32");
      const bf = T.rope(x.to("bfloat16"), cos.to("bfloat16"), sin.to("bfloat16"), { interleaved }).float();
      assertClose(bf, explicitRope(x, cos, sin, interleaved).toArray(), 0.1, "bfloat16");
    }
    assert.throws(() => T.rope(T.randn([1, 1, 2, 3]), T.randn([1, 1, 2, 3]), T.randn([1, 1, 2, 3])), /even/);
  });
});

/** x / √(mean(x²) + eps) · w, composed. */
function explicitRmsNorm(x: T.Tensor, w: T.Tensor | null, eps: number): T.Tensor {
  const y = x.mul(x.pow(2).mean(-1, true).add(eps).rsqrt());
  return w === null ? y : y.mul(w);
}

test("rmsNorm equals its composition with and without a weight; gradients of input and weight match and pass finite differences", () => {
  T.tidy(() => {
    T.manualSeed(15);
    const x = T.randn([3, 4, 40], f64).transpose(0, 1), w = T.randn([40], f64);
    for (const weight of [w, null]) {
      assertClose(T.rmsNorm(x, weight, 1e-5), explicitRmsNorm(x, weight, 1e-5).toArray(), 1e-12, "values");
      const g = T.randn([4, 3, 40], f64);
      const inputs = weight === null ? [x] : [x, weight];
      const fused = gradsOf(([a, b]) => T.rmsNorm(a!, b ?? null, 1e-5), inputs, g);
      const plain = gradsOf(([a, b]) => explicitRmsNorm(a!, b ?? null, 1e-5), inputs, g);
      fused.forEach((gr, i) => assertClose(gr, plain[i]!.toArray(), 1e-10, `gradient ${i}`));
    }
    const r = T.gradcheck(([a, b]) => T.rmsNorm(a!, b!, 1e-5), [T.randn([3, 6], f64), T.randn([6], f64)]);
    assert.ok(r.maxError < 1e-6, `max relative error ${r.maxError}`);
    // Relative error of y = x·w·rsqrt(mean(x²) + eps) in float32: the mean of 40 squares (γ_81,
    // halved by the square root), eps, rsqrt, the rounded inputs and two products: within γ_48·|y|.
    const expected = explicitRmsNorm(x, w, 1e-5);
    assertWithinBound(T.rmsNorm(x.float(), w.float(), 1e-5), expected.toArray(), expected.abs().mul(gamma32(48)).toArray(), "float32");
  });
});

test("matmul of a few float32 rows without gradient (the decoding kernel) equals the float64 product, over row and column tails", () => {
  T.tidy(() => {
    T.manualSeed(16);
    for (const m of [1, 3, 4, 5, 8, 9, 13, 16, 17]) {
      for (const [k, n] of [[7, 1], [64, 31], [64, 32], [33, 33], [256, 100]] as const) {
        const a = T.randn([m, k], f64), b = T.randn([k, n], f64);
        const expected = a.matmul(b).toArray();
        // Rounding a and b to float32 (2 roundings) then a k-term dot product (k): γ_{k+2}·Σ|a_i·b_i|.
        T.noGrad(() => assertWithinBound(a.float().matmul(b.float()), expected, productBound(a, b, k + 2), `m=${m} k=${k} n=${n}`));
      }
    }
    const b = T.randn([24, 40]);
    const strided = T.randn([24, 6]).transpose(0, 1); // rows 1 apart, columns 6 apart
    T.noGrad(() => {
      // Inputs already float32: only the 24-term dot product rounds.
      assertWithinBound(strided.matmul(b), strided.contiguous().double().matmul(b.double()).toArray(), productBound(strided, b, 24), "strided rows");
      const batched = T.randn([2, 3, 24]);
      assert.deepEqual(batched.matmul(b).shape, [2, 3, 40]);
      assertWithinBound(batched.matmul(b), batched.double().matmul(b.double()).toArray(), productBound(batched, b, 24), "batched");
      const vector = T.randn([24]);
      assert.deepEqual(vector.matmul(b).shape, [40]);
      assertWithinBound(vector.matmul(b), vector.double().matmul(b.double()).toArray(), productBound(vector, b, 24), "vector");
    });
    // With a gradient to compute, the product stays differentiable.
    const x = T.randn([2, 24]).requiresGrad_();
    x.matmul(b).sum().backward();
    // Each gradient entry sums a row of b (40 float32 terms): γ_40·Σ|b_j|.
    const gradBound = b.double().abs().sum(1).mul(gamma32(40)).unsqueeze(0).expand(2, 24).contiguous().toArray();
    assertWithinBound(x.grad!, b.double().sum(1).unsqueeze(0).expand(2, 24).contiguous().toArray(), gradBound, "gradient");
  });
});
