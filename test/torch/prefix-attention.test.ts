// T.prefixAttention: G rollouts attending to one shared prompt prefix, then to their own keys.
// Checked against attention over each row's explicitly concatenated keys, with padding in the
// prefix, grouped-query heads, one and several queries, and through autograd.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";
import { assertClose } from "./helpers.js";

type Dtype = "float32" | "float64";

function indices(values: number[]): T.Tensor {
  return T.tensor(BigInt64Array.from(values, (x) => BigInt(x)));
}

interface Case {
  q: T.Tensor;
  prefix: { keys: T.Tensor; values: T.Tensor; mask: T.Tensor | null };
  suffix: { keys: T.Tensor; values: T.Tensor };
}

/** P prompts × G rollouts, H query heads over Hkv key heads, Tq queries, Lp prefix and Ls suffix keys. */
function makeCase(dims: { p: number; g: number; h: number; hkv: number; tq: number; lp: number; ls: number; d: number }, dtype: Dtype, padded: boolean): Case {
  const { p, g, h, hkv, tq, lp, ls, d } = dims;
  const o = { dtype };
  let mask: T.Tensor | null = null;
  if (padded) {
    // Left padding: prompt i has its first i + 1 slots empty.
    mask = T.ones([p, lp], { dtype: "bool" }).clone();
    for (let i = 0; i < p; i++) mask.narrow(0, i, 1).narrow(1, 0, i + 1).fill_(0);
  }
  return {
    q: T.randn([p * g, h, tq, d], o),
    prefix: { keys: T.randn([p, hkv, lp, d], o), values: T.randn([p, hkv, lp, d + 1], o), mask },
    suffix: { keys: T.randn([p * g, hkv, ls, d], o), values: T.randn([p * g, hkv, ls, d + 1], o) },
  };
}

/** The reference: each row gets a copy of its prompt's keys and its heads repeated, then one mask. */
function concatenated(c: Case): T.Tensor {
  const [b, h, tq] = c.q.shape as [number, number, number];
  const [p, hkv, lp] = c.prefix.keys.shape as [number, number, number];
  const ls = c.suffix.keys.size(2);
  const g = b / p;
  const rows = indices(Array.from({ length: b }, (_, i) => Math.floor(i / g)));
  const heads = indices(Array.from({ length: h }, (_, i) => Math.floor(i / (h / hkv))));
  const keysOf = (pre: T.Tensor, suf: T.Tensor) => T.cat([pre.indexSelect(0, rows), suf], 2).indexSelect(1, heads);
  const prefixMask = c.prefix.mask ? c.prefix.mask.indexSelect(0, rows).view(b, 1, 1, lp) : T.ones([b, 1, 1, lp], { dtype: "bool" });
  const causal = T.ones([tq, ls], { dtype: "bool" }).tril(ls - tq).view(1, 1, tq, ls);
  const mask = T.cat([prefixMask.expand(b, 1, tq, lp), causal.expand(b, 1, tq, ls)], 3);
  return T.attention(c.q, keysOf(c.prefix.keys, c.suffix.keys), keysOf(c.prefix.values, c.suffix.values), { mask });
}

const shapes = [
  { p: 2, g: 3, h: 4, hkv: 2, tq: 1, lp: 7, ls: 5, d: 8 },
  { p: 1, g: 8, h: 4, hkv: 4, tq: 1, lp: 40, ls: 1, d: 16 },
  { p: 3, g: 2, h: 2, hkv: 1, tq: 3, lp: 5, ls: 4, d: 19 },
];

test("prefix attention equals attention over each row's concatenated keys (float64): padding, grouped heads, several queries", () => {
  T.tidy(() => {
    T.manualSeed(21);
    for (const dims of shapes) {
      for (const padded of [false, true]) {
        const c = makeCase(dims, "float64", padded);
        const out = T.noGrad(() => T.prefixAttention(c.q, c.prefix, c.suffix));
        assert.deepEqual(out.shape, [dims.p * dims.g, dims.h, dims.tq, dims.d + 1]);
        assertClose(out, concatenated(c).toArray(), 1e-12, `${JSON.stringify(dims)} padded=${padded}`);
      }
    }
  });
});

test("float32 prefix attention agrees with row-by-row decoding attention to float32 rounding, with keys in either layout", () => {
  // The kernel sums a score over the head dimension in another order than a row-by-row dot
  // product, so the two differ by rounding only. Keys stored transposed (as the shared-prefix
  // cache keeps them) and keys in the usual layout give the same numbers.
  T.tidy(() => {
    T.manualSeed(22);
    for (const dims of shapes) {
      const c = makeCase(dims, "float32", true);
      T.noGrad(() => {
        const out = T.prefixAttention(c.q, c.prefix, c.suffix);
        assertClose(out, concatenated(c).toArray(), 2e-6, JSON.stringify(dims));
        const transposedKeys = c.prefix.keys.transpose(2, 3).contiguous().transpose(2, 3);
        assertClose(T.prefixAttention(c.q, { ...c.prefix, keys: transposedKeys }, c.suffix), out.toArray(), 0, `${JSON.stringify(dims)} transposed keys`);
      });
    }
  });
});

test("prefix attention output is laid out so that transpose(1, 2).reshape is a view", () => {
  T.tidy(() => {
    const c = makeCase(shapes[0]!, "float32", false);
    const out = T.noGrad(() => T.prefixAttention(c.q, c.prefix, c.suffix));
    assert.ok(out.transpose(1, 2).isContiguous());
  });
});

test("prefix attention under autograd: gradients equal the concatenated form's and finite differences", () => {
  T.tidy(() => {
    T.manualSeed(23);
    const c = makeCase(shapes[0]!, "float64", true);
    const inputs = [c.q, c.prefix.keys, c.prefix.values, c.suffix.keys, c.suffix.values];
    const weight = T.randn([6, 4, 1, 9], { dtype: "float64" });
    const grads = (fn: (c: Case) => T.Tensor) => {
      const leaves = inputs.map((x) => x.detach().requiresGrad_());
      const [q, pk, pv, sk, sv] = leaves as [T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor];
      fn({ q, prefix: { keys: pk, values: pv, mask: c.prefix.mask }, suffix: { keys: sk, values: sv } }).mul(weight).sum().backward();
      return leaves.map((x) => x.grad!);
    };
    const viaOp = grads((x) => T.prefixAttention(x.q, x.prefix, x.suffix));
    const reference = grads(concatenated);
    viaOp.forEach((g, i) => assertClose(g, reference[i]!.toArray(), 1e-12, `gradient ${i}`));
    const small = makeCase({ p: 1, g: 2, h: 2, hkv: 1, tq: 1, lp: 3, ls: 2, d: 2 }, "float64", false);
    const r = T.gradcheck(
      ([q, pk, pv, sk, sv]) => T.prefixAttention(q!, { keys: pk!, values: pv! }, { keys: sk!, values: sv! }),
      [small.q, small.prefix.keys, small.prefix.values, small.suffix.keys, small.suffix.values],
    );
    assert.ok(r.maxError < 1e-6, `max relative error ${r.maxError}`);
  });
});

test("prefix attention rejects shapes that do not fit, naming what is wrong", () => {
  T.tidy(() => {
    const c = makeCase(shapes[0]!, "float32", false);
    const call = (over: Partial<{ q: T.Tensor; mask: T.Tensor; sk: T.Tensor }>) => () =>
      T.prefixAttention(over.q ?? c.q, { ...c.prefix, mask: over.mask ?? null }, { keys: over.sk ?? c.suffix.keys, values: c.suffix.values });
    assert.throws(call({ q: T.randn([5, 4, 1, 8]) }), /batch \(5\) is not a multiple of the prompts \(2\)/);
    assert.throws(call({ q: T.randn([6, 3, 1, 8]) }), /query heads \(3\) are not a multiple of the key heads \(2\)/);
    assert.throws(call({ mask: T.ones([2, 6], { dtype: "bool" }) }), /prefix mask must be a bool \[P, Lp\]/);
    assert.throws(call({ q: T.randn([6, 4, 6, 8]) }), /suffix must hold the queries' own keys \(6\)/);
  });
});
