// Every differentiable op's gradient against central finite differences in float64.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as T from "../../src/torch/index.js";

type Fn = (x: T.Tensor[]) => T.Tensor;
const f64 = { dtype: "float64" as const };

function rnd(shape: number[], lo = -1, hi = 1): T.Tensor {
  return T.keep(T.rand(shape, f64).mul(hi - lo).add(lo));
}

T.manualSeed(7);
const a = rnd([3, 4]), b = rnd([3, 4]), pos = rnd([3, 4], 0.5, 2), sq = rnd([4, 4]), w = rnd([5, 4]), bias = rnd([5]);
const idx = T.keep(T.tensor([[2, 0, 1, 3], [1, 1, 0, 2], [3, 2, 2, 0]], { dtype: "int64" }));
const ids = T.keep(T.tensor([1, 3, 0, 3], { dtype: "int64" }));
const mask = T.keep(T.tensor([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1]], { dtype: "bool" }));
const q4 = rnd([1, 2, 3, 4]), k4 = rnd([1, 2, 3, 4]), v4 = rnd([1, 2, 3, 4]);

const cases: [string, Fn, T.Tensor[]][] = [
  ["add", ([x, y]) => x!.add(y!), [a, b]],
  ["sub", ([x, y]) => x!.sub(y!), [a, b]],
  ["mul", ([x, y]) => x!.mul(y!), [a, b]],
  ["div", ([x, y]) => x!.div(y!), [a, pos]],
  ["pow scalar", ([x]) => x!.pow(3), [a]],
  ["pow tensor", ([x, y]) => x!.pow(y!), [pos, b]],
  ["maximum", ([x, y]) => x!.maximum(y!), [a, b]],
  ["minimum", ([x, y]) => x!.minimum(y!), [a, b]],
  ["neg", ([x]) => x!.neg(), [a]],
  ["exp", ([x]) => x!.exp(), [a]],
  ["log", ([x]) => x!.log(), [pos]],
  ["log1p", ([x]) => x!.log1p(), [pos]],
  ["sqrt", ([x]) => x!.sqrt(), [pos]],
  ["rsqrt", ([x]) => x!.rsqrt(), [pos]],
  ["tanh", ([x]) => x!.tanh(), [a]],
  ["sigmoid", ([x]) => x!.sigmoid(), [a]],
  ["silu", ([x]) => x!.silu(), [a]],
  ["gelu", ([x]) => x!.gelu(), [a]],
  ["gelu tanh", ([x]) => x!.gelu("tanh"), [a]],
  ["relu", ([x]) => x!.relu(), [a]],
  ["abs", ([x]) => x!.abs(), [a]],
  ["square", ([x]) => x!.square(), [a]],
  ["sin/cos", ([x]) => x!.sin().add(x!.cos()), [a]],
  ["clamp", ([x]) => x!.clamp(-0.5, 0.5), [a]],
  ["sum dim", ([x]) => x!.sum(1), [a]],
  ["sum all", ([x]) => x!.sum(), [a]],
  ["mean", ([x]) => x!.mean(0, true), [a]],
  ["var", ([x]) => x!.var(1), [a]],
  ["max all", ([x]) => x!.max(), [a]],
  ["maxDim values", ([x]) => x!.maxDim(1)[0], [a]],
  ["logsumexp", ([x]) => x!.logsumexp(1), [a]],
  ["cumsum", ([x]) => x!.cumsum(1), [a]],
  ["norm", ([x]) => x!.norm(), [a]],
  ["reshape/view", ([x]) => x!.reshape(4, 3).mul(x!.view(12).reshape(4, 3)), [a]],
  ["transpose/permute", ([x]) => x!.transpose(0, 1).unsqueeze(0).permute(2, 0, 1).mul(2), [a]],
  ["narrow/slice/select", ([x]) => x!.narrow(1, 1, 2).add(x!.slice(1, 0, 4, 2)).mul(x!.select(0, 1).narrow(0, 0, 2)), [a]],
  ["cat", ([x, y]) => T.cat([x!, y!.mul(2)], 1), [a, b]],
  ["stack", ([x, y]) => T.stack([x!, y!], 0).mul(T.stack([y!, x!], 0)), [a, b]],
  ["expand/repeat", ([x]) => x!.narrow(0, 0, 1).expand(3, 4).mul(x!).add(x!.repeat(2, 1).narrow(0, 1, 3)), [a]],
  ["flip", ([x]) => x!.flip(1).mul(x!), [a]],
  ["chunk/split", ([x]) => x!.chunk(2, 1)[0]!.mul(x!.split([2, 2], 1)[1]!), [a]],
  ["indexSelect", ([x]) => x!.indexSelect(1, ids), [a]],
  ["gather", ([x]) => x!.gather(1, idx), [a]],
  ["scatterAdd", ([x, y]) => x!.scatterAdd(1, idx, y!), [a, b]],
  ["maskedFill", ([x]) => x!.maskedFill(mask, 0).mul(x!), [a]],
  ["where", ([x, y]) => T.where(mask, x!, y!).mul(x!), [a, b]],
  ["triu/tril", ([x]) => x!.triu(1).add(x!.tril().mul(3)), [sq]],
  ["matmul", ([x, y]) => x!.matmul(y!), [a, sq]],
  ["bmm", ([x, y]) => T.stack([x!, x!.mul(2)]).bmm(T.stack([y!, y!])), [a, sq]],
  ["linear", ([x, y, z]) => T.linear(x!, y!, z!), [a, w, bias]],
  ["softmax", ([x]) => x!.softmax(1), [a]],
  ["logSoftmax", ([x]) => x!.logSoftmax(1), [a]],
  ["embedding", ([x]) => T.embedding(x!, ids), [sq]],
  ["rmsNorm", ([x, y]) => T.rmsNorm(x!, y!.select(0, 0), 1e-5), [a, b]],
  ["layerNorm", ([x, y, z]) => T.layerNorm(x!, [4], y!.select(0, 0), z!.select(0, 1), 1e-5), [a, b, b]],
  ["crossEntropy", ([x]) => T.crossEntropy(x!, T.tensor([1, 3, 0], { dtype: "int64" })), [a]],
  ["attention causal", ([q, k, v]) => T.attention(q!, k!, v!, { causal: true }), [q4, k4, v4]],
  ["attention masked", ([q, k, v]) => T.attention(q!, k!, v!, { mask: T.ones([3, 3], { dtype: "bool" }).triu() }), [q4, k4, v4]],
  ["to float32 and back", ([x]) => x!.mul(3).double(), [a]],
];

for (const [name, fn, inputs] of cases) {
  test(`gradient of ${name} matches finite differences`, () => {
    const r = T.gradcheck(fn, inputs);
    const tol = name.includes("float32") ? 1e-3 : 1e-6;
    assert.ok(r.maxError < tol, `${name}: max relative error ${r.maxError} at ${JSON.stringify(r.worst)}`);
  });
}
