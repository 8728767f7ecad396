import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { assertClose } from "./helpers.js";

const t = (data: Parameters<typeof T.tensor>[0], opts?: Parameters<typeof T.tensor>[1]) => T.tensor(data, opts);

test("creation, dtypes and export", () => {
  T.tidy(() => {
    const a = t([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.dtype, "float32");
    assert.equal(a.device, "cpu");
    assert.ok(a.data() instanceof Float32Array);
    for (const dtype of T.DTYPES) {
      const x = t([0, 1, 2], { dtype });
      assert.equal(x.dtype, dtype);
      assert.deepEqual(x.toArray(), dtype === "bool" ? [0, 1, 1] : [0, 1, 2]);
    }
    assert.ok(t([1, 2], { dtype: "int64" }).data() instanceof BigInt64Array);
    assert.deepEqual(Array.from(t([1.5, -2], { dtype: "bfloat16" }).data() as Uint16Array), [0x3fc0, 0xc000]);
    assert.deepEqual(Array.from(t([1.5, -2], { dtype: "float16" }).data() as Uint16Array), [0x3e00, 0xc000]);
    assertClose(T.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] }).sum(0), [4, 6]);
    assert.deepEqual(T.zeros([2]).toArray(), [0, 0]);
    assert.deepEqual(T.ones([2], { dtype: "int32" }).toArray(), [1, 1]);
    assert.deepEqual(T.full([3], 7).toArray(), [7, 7, 7]);
    assert.deepEqual(T.arange(4).toArray(), [0, 1, 2, 3]);
    assert.deepEqual(T.arange(1, 7, 2).toArray(), [1, 3, 5]);
    assert.equal(T.arange(4).dtype, "int64");
    assert.deepEqual(T.eye(2).toArray(), [1, 0, 0, 1]);
    assert.equal(t([3.5]).item(), 3.5);
  });
});

test("seeded random generation is reproducible and well distributed", () => {
  T.tidy(() => {
    T.manualSeed(123);
    const a = T.randn([1000]).toArray();
    T.manualSeed(123);
    const b = T.randn([1000]).toArray();
    assert.deepEqual(a, b);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    assert.ok(Math.abs(mean) < 0.15, `randn mean ${mean}`);
    const u = T.rand([1000]).toArray();
    assert.ok(u.every((x) => x >= 0 && x < 1));
    const r = T.randint(3, 6, [200]).toArray();
    assert.ok(r.every((x) => x >= 3 && x < 6) && new Set(r).size === 3);
    assert.deepEqual(T.randperm(5).toArray().sort(), [0, 1, 2, 3, 4]);
    const state = T.getRngState();
    const x1 = T.rand([4]).toArray();
    T.setRngState(state);
    assert.deepEqual(T.rand([4]).toArray(), x1);
  });
});

test("shape ops", () => {
  T.tidy(() => {
    const a = t([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(a.reshape(3, 2).toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.view(6).shape, [6]);
    assert.deepEqual(a.transpose(0, 1).toArray(), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(a.T.shape, [3, 2]);
    assert.deepEqual(a.unsqueeze(0).permute(2, 0, 1).shape, [3, 1, 2]);
    assert.deepEqual(a.narrow(1, 1, 2).toArray(), [2, 3, 5, 6]);
    assert.deepEqual(a.slice(1, 0, 3, 2).toArray(), [1, 3, 4, 6]);
    assert.deepEqual(a.select(0, 1).toArray(), [4, 5, 6]);
    assert.deepEqual(T.cat([a, a], 0).shape, [4, 3]);
    assert.deepEqual(T.cat([a, t([[7], [8]])], 1).toArray(), [1, 2, 3, 7, 4, 5, 6, 8]);
    assert.deepEqual(T.stack([t([1, 2]), t([3, 4])], 1).toArray(), [1, 3, 2, 4]);
    assert.deepEqual(t([[1], [2]]).expand(2, 3).toArray(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(t([1, 2]).repeat(2).toArray(), [1, 2, 1, 2]);
    assert.deepEqual(t([[[1, 2]]]).squeeze().shape, [2]);
    assert.deepEqual(a.flatten().shape, [6]);
    assert.deepEqual(a.flip(1).toArray(), [3, 2, 1, 6, 5, 4]);
    assert.deepEqual(a.chunk(3, 1).map((c) => c.toArray()), [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(a.split([1, 2], 1).map((c) => c.shape), [[2, 1], [2, 2]]);
    assert.ok(!a.T.isContiguous() && a.T.contiguous().isContiguous());
  });
});

test("indexing ops", () => {
  T.tidy(() => {
    const a = t([[1, 2, 3], [4, 5, 6]]);
    const idx = t([2, 0], { dtype: "int64" });
    assert.deepEqual(a.indexSelect(1, idx).toArray(), [3, 1, 6, 4]);
    assert.deepEqual(a.gather(1, t([[2], [1]], { dtype: "int64" })).toArray(), [3, 5]);
    assert.deepEqual(T.zeros([3]).scatterAdd(0, t([0, 2, 0], { dtype: "int64" }), t([1, 2, 3])).toArray(), [4, 0, 2]);
    assert.deepEqual(T.zeros([3]).scatter(0, t([1], { dtype: "int64" }), 9).toArray(), [0, 9, 0]);
    const mask = t([[true, false, false], [false, false, true]], { dtype: "bool" });
    assert.deepEqual(a.maskedFill(mask, -1).toArray(), [-1, 2, 3, 4, 5, -1]);
    assert.deepEqual(T.where(mask, a, 0).toArray(), [1, 0, 0, 0, 0, 6]);
    assert.deepEqual(T.where(mask, 1, a).toArray(), [1, 2, 3, 4, 5, 1]);
    assert.deepEqual(T.ones([3, 3]).triu(1).toArray(), [0, 1, 1, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(T.ones([3, 3]).tril().toArray(), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
    assert.deepEqual(T.embedding(t([[0, 0], [1, 1], [2, 2]]), t([2, 0], { dtype: "int64" })).toArray(), [2, 2, 0, 0]);
  });
});

test("elementwise math and comparisons", () => {
  T.tidy(() => {
    const a = t([1, 4, 9], { dtype: "float64" });
    const b = t([2, 2, 2], { dtype: "float64" });
    assert.deepEqual(a.add(b).toArray(), [3, 6, 11]);
    assert.deepEqual(a.add(1).toArray(), [2, 5, 10]);
    assert.deepEqual(a.sub(b).toArray(), [-1, 2, 7]);
    assert.deepEqual(a.mul(b).toArray(), [2, 8, 18]);
    assert.deepEqual(a.div(b).toArray(), [0.5, 2, 4.5]);
    assert.deepEqual(a.pow(0.5).toArray(), [1, 2, 3]);
    assert.deepEqual(a.pow(b).toArray(), [1, 16, 81]);
    assert.deepEqual(a.sqrt().toArray(), [1, 2, 3]);
    assertClose(a.rsqrt(), [1, 0.5, 1 / 3], 1e-12);
    assertClose(a.log(), [0, Math.log(4), Math.log(9)], 1e-12);
    assertClose(t([0, 1], { dtype: "float64" }).exp(), [1, Math.E], 1e-12);
    assertClose(t([0, 1], { dtype: "float64" }).tanh(), [0, Math.tanh(1)], 1e-12);
    assertClose(t([0, 2], { dtype: "float64" }).sigmoid(), [0.5, 1 / (1 + Math.exp(-2))], 1e-12);
    assertClose(t([-1, 2], { dtype: "float64" }).silu(), [-1 / (1 + Math.E), 2 / (1 + Math.exp(-2))], 1e-12);
    assertClose(t([1], { dtype: "float64" }).gelu(), [0.8413447460685429], 1e-12);
    assertClose(t([1], { dtype: "float64" }).gelu("tanh"), [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1 + 0.044715)))], 1e-12);
    assert.deepEqual(t([-3, 0.5, 3]).clamp(-1, 1).toArray(), [-1, 0.5, 1]);
    assert.deepEqual(t([-3, 0.5]).clamp(0).toArray(), [0, 0.5]);
    assert.deepEqual(t([-3, 2]).abs().toArray(), [3, 2]);
    assert.deepEqual(t([-3, 2]).neg().toArray(), [3, -2]);
    assert.deepEqual(t([-3, 2]).relu().toArray(), [0, 2]);
    assert.deepEqual(a.maximum(5).toArray(), [5, 5, 9]);
    assert.deepEqual(a.minimum(b).toArray(), [1, 2, 2]);
    assert.deepEqual(a.gt(b).toArray(), [0, 1, 1]);
    assert.deepEqual(a.eq(4).toArray(), [0, 1, 0]);
    assert.deepEqual(a.le(4).toArray(), [1, 1, 0]);
    assert.equal(a.gt(b).dtype, "bool");
    assert.deepEqual(a.gt(1).logicalAnd(a.lt(9)).toArray(), [0, 1, 0]);
    assert.deepEqual(t([1, 0]).isFinite().toArray(), [1, 1]);
    assert.deepEqual(t([1, 0]).div(0).isFinite().toArray(), [0, 0]);
    assert.equal(t([1, 2], { dtype: "int64" }).add(1).dtype, "int64");
  });
});

test("reductions", () => {
  T.tidy(() => {
    const a = t([[1, 5, 3], [4, 2, 6]], { dtype: "float64" });
    assert.equal(a.sum().item(), 21);
    assert.deepEqual(a.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(a.sum(1, true).shape, [2, 1]);
    assert.equal(a.mean().item(), 3.5);
    assert.deepEqual(a.mean(1).toArray(), [3, 4]);
    assertClose(a.var(1, false, false), [8 / 3, 8 / 3], 1e-12);
    assertClose(a.var(1), [4, 4], 1e-12);
    assert.equal(a.max().item(), 6);
    assert.equal(a.min().item(), 1);
    const [mv, mi] = a.maxDim(1);
    assert.deepEqual([mv.toArray(), mi.toArray()], [[5, 6], [1, 2]]);
    assert.deepEqual(a.minDim(0)[1].toArray(), [0, 1, 0]);
    assert.deepEqual(a.argmax(1).toArray(), [1, 2]);
    assert.equal(a.argmax().item(), 5);
    assertClose(a.logsumexp(1), [Math.log(Math.exp(1) + Math.exp(5) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(2) + Math.exp(6))], 1e-12);
    assert.deepEqual(a.cumsum(1).toArray(), [1, 6, 9, 4, 6, 12]);
    assertClose(t([3, 4]).norm(), [5]);
    assert.equal(a.gt(5).any().item(), 1);
    assert.equal(a.gt(0).all().item(), 1);
  });
});

test("matmul, bmm, linear, softmax, norms", () => {
  T.tidy(() => {
    const a = t([[1, 2], [3, 4]]);
    const b = t([[5, 6], [7, 8]]);
    assert.deepEqual(a.matmul(b).toArray(), [19, 22, 43, 50]);
    assert.deepEqual(T.stack([a, b]).bmm(T.stack([b, a])).toArray(), [19, 22, 43, 50, 23, 34, 31, 46]);
    assert.deepEqual(T.linear(a, b, t([1, -1])).toArray(), [18, 22, 40, 52]);
    const s = t([[0, Math.log(3)]], { dtype: "float64" });
    assertClose(s.softmax(-1), [0.25, 0.75], 1e-12);
    assertClose(s.logSoftmax(-1), [Math.log(0.25), Math.log(0.75)], 1e-12);
    const x = t([[1, 2, 3, 4]], { dtype: "float64" });
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-5);
    assertClose(T.rmsNorm(x, t([1, 1, 2, 2], { dtype: "float64" })), [1 / rms, 2 / rms, 6 / rms, 8 / rms], 1e-12);
    const sd = Math.sqrt(1.25 + 1e-5);
    assertClose(T.layerNorm(x, [4], null, null), [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 1e-12);
    const logits = t([[0, Math.log(3)], [Math.log(3), 0]], { dtype: "float64" });
    assertClose(T.crossEntropy(logits, t([1, 1], { dtype: "int64" }), { reduction: "none" }), [-Math.log(0.75), -Math.log(0.25)], 1e-12);
    assertClose(T.crossEntropy(logits, t([1, -100], { dtype: "int64" })), [-Math.log(0.75)], 1e-12);
  });
});

test("attention equals the explicit softmax(QKᵀ/√d)V, causal and masked", () => {
  T.tidy(() => {
    T.manualSeed(5);
    const q = T.randn([1, 2, 3, 4], { dtype: "float64" }), k = T.randn([1, 2, 3, 4], { dtype: "float64" }), v = T.randn([1, 2, 3, 4], { dtype: "float64" });
    const scores = q.matmul(k.transpose(-2, -1)).div(2);
    const causalMask = T.ones([3, 3], { dtype: "bool" }).tril();
    const expected = scores.maskedFill(causalMask.logicalNot(), -Infinity).softmax(-1).matmul(v);
    assertClose(T.attention(q, k, v, { causal: true }), expected.toArray(), 1e-10);
    assertClose(T.attention(q, k, v, { mask: causalMask }), expected.toArray(), 1e-10);
    assertClose(T.attention(q, k, v), scores.softmax(-1).matmul(v).toArray(), 1e-10);
    // A single query attending over a longer (cached) key sequence: causal is aligned to the end.
    const q1 = q.narrow(2, 2, 1);
    assertClose(T.attention(q1, k, v, { causal: true }), expected.narrow(2, 2, 1).toArray(), 1e-10);
  });
});

test("sampling and ordering", () => {
  T.tidy(() => {
    const x = t([3, 1, 2]);
    const [tv, ti] = x.topk(2);
    assert.deepEqual([tv.toArray(), ti.toArray()], [[3, 2], [0, 2]]);
    const [sv, si] = x.sort(-1, false);
    assert.deepEqual([sv.toArray(), si.toArray()], [[1, 2, 3], [1, 2, 0]]);
    assert.deepEqual(x.argsort(-1, true).toArray(), [0, 2, 1]);
    T.manualSeed(1);
    const draws = t([[0, 0, 1], [1, 0, 0]]).multinomial(1).toArray();
    assert.deepEqual(draws, [2, 0]);
    const counts = [0, 0];
    const many = t([0.25, 0.75]).multinomial(4000, true).toArray();
    for (const d of many) counts[d]!++;
    assert.ok(Math.abs(counts[1]! / 4000 - 0.75) < 0.03, `multinomial frequency ${counts[1]! / 4000}`);
  });
});

test("dropout keeps expectation and is identity in eval", () => {
  T.tidy(() => {
    T.manualSeed(2);
    const x = T.ones([10000]);
    const y = T.dropout(x, 0.25, true).toArray();
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / 10000 - 0.25) < 0.02);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    assert.deepEqual(T.dropout(t([1, 2]), 0.5, false).toArray(), [1, 2]);
  });
});

test("in-place ops update the target", () => {
  T.tidy(() => {
    const a = T.zeros([3]);
    a.add_(t([1, 2, 3])).mul_(2).add_(t([1, 1, 1]), 0.5);
    assert.deepEqual(a.toArray(), [2.5, 4.5, 6.5]);
    a.fill_(1);
    a.maskedFill_(t([true, false, true], { dtype: "bool" }), 0);
    assert.deepEqual(a.toArray(), [0, 1, 0]);
    const cache = T.zeros([4, 2]);
    cache.narrow(0, 1, 2).copy_(t([[1, 2], [3, 4]]));
    assert.deepEqual(cache.toArray(), [0, 0, 1, 2, 3, 4, 0, 0]);
    cache.indexCopy_(0, t([3], { dtype: "int64" }), t([[9, 9]]));
    assert.deepEqual(cache.select(0, 3).toArray(), [9, 9]);
    cache.zero_();
    assert.equal(cache.sum().item(), 0);
  });
});
