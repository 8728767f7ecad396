/**
 * One rank of the overlapped gradient reduction test (overlap.test.ts), started with the torchrun
 * environment. For each model variant (plain, activation checkpointing, LoRA + checkpointing)
 * it computes the gradient of an SFT loss on its half of a batch three ways and prints them as
 * JSON on stdout: reduced with the all-reduces started during the backward (small buckets, so
 * several leave while it runs), reduced after the backward, and the 1-process gradient of the
 * whole batch computed locally (what both must equal).
 */
import * as T from "../../src/torch/index.js";
import { ProcessGroup } from "../../src/torch/distributed.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { createPolicy, disposePolicy } from "../../src/fgrpo/trainer/policy.js";
import type { TaskVocabCodec } from "../../src/fgrpo/trainer/policy-codec.js";
import { sftLoss, unifiedPair, type SftPair } from "../../src/fgrpo/trainer/sft.js";
import { DataParallel } from "../../src/fgrpo/trainer/dist.js";
import { Rng } from "../../src/util/random.js";

// `node --test dist/test/` runs every file, this one too: without the launch environment it has nothing to do.
if (process.env.RANK === undefined) process.exit(0);
const rank = Number(process.env.RANK), worldSize = Number(process.env.WORLD_SIZE);
const group = ProcessGroup.init({ masterAddr: "127.0.0.1", masterPort: Number(process.env.MASTER_PORT), rank, worldSize, timeoutMs: 60_000 });
T.setNumThreads(1, 1);

const variants: Record<string, Record<string, unknown>> = {
  plain: {},
  checkpointing: { gradient_checkpointing: true },
  lora: { gradient_checkpointing: true, lora: { r: 4, alpha: 8, dropout: 0 } },
};

function gradients(params: T.Tensor[]): number[][] {
  return params.map((p) => (p.grad ? Array.from(p.grad.toFloat64Array()) : []));
}

const out: Record<string, unknown> = {};
for (const [name, model] of Object.entries(variants)) {
  const config = parseConfig({ seed: 3, task: { train_examples: 40, eval_examples: 4 }, model: { hidden_size: 32, num_layers: 2, num_heads: 2, num_kv_heads: 2, intermediate_size: 64, ...model } });
  T.manualSeed(config.seed);
  const task = setupTask(config);
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 256);
  const params = [...policy.model.trainableParameters().values()];
  const rng = new Rng(11);
  const batch: SftPair[] = Array.from({ length: 8 }, () => unifiedPair(task, task.train[rng.int(task.train.length)]!, rng));
  const mine = new DataParallel(group).share(batch.length).map((i) => batch[i]!);
  const weight = mine.reduce((n, p) => n + p.completion.length, 0);
  const backward = (pairs: SftPair[], before?: () => void) => T.tidy(() => {
    const { loss } = sftLoss(policy.model, pairs, task.policyCodec.padId, true);
    before?.();
    loss.backward();
    return loss.item();
  });
  const zero = () => params.forEach((p) => (p.grad = null));
  // Buckets of 4 KB (the first 1 KB): this model's gradients make many, most leaving mid-backward.
  const overlapped = new DataParallel(group, { bucketCapBytes: 4096 });
  zero();
  const loss = backward(mine, () => overlapped.beforeBackward(params, weight));
  const lossO = overlapped.reduceGradients(params, loss, weight);
  const overlap = overlapped.takeOverlap();
  const gO = gradients(params);
  overlapped.dispose();
  const after = new DataParallel(group, { bucketCapBytes: 4096, overlap: false });
  zero();
  const lossA = after.reduceGradients(params, backward(mine), weight);
  const afterOverlap = after.takeOverlap();
  const gA = gradients(params);
  after.dispose();
  zero();
  const lossOne = backward(batch);
  const gOne = gradients(params);
  out[name] = { params: params.length, overlap, afterOverlap, loss: [lossO, lossA, lossOne], overlapped: gO, after: gA, one: gOne };
  disposePolicy(policy);
}

/**
 * Hand-made cases: `a` is used inside a reentrant checkpoint and outside it, so its gradient
 * accumulator fires twice in one backward (its bucket leaves after the first: a stale bucket,
 * reduced again at the end); `c` gets a gradient on rank 1 only. One parameter per bucket.
 */
{
  T.manualSeed(7);
  const a = T.keep(T.randn([5]).requiresGrad_()), b = T.keep(T.randn([5]).requiresGrad_()), c = T.keep(T.randn([5]).requiresGrad_());
  // Reverse order makes the buckets b, a, c: c (no gradient on rank 0) comes last, so it does not hold back the others.
  const params = [c, a, b];
  const weights = [3, 5];
  const lossOf = (r: number) => T.tidy(() => {
    const x = T.arange(5).float().add(r + 1);
    const [y] = T.checkpoint(([v]) => [v!.mul(a).sin()], [x]);
    let loss = y!.sum().add(a.mul(b).sum().mul(r + 2));
    if (r === 1) loss = loss.add(c.square().sum());
    return T.keep(loss);
  });
  const expected = params.map((p) => new Float64Array(p.numel));
  for (let r = 0; r < worldSize; r++) {
    params.forEach((p) => (p.grad = null));
    const loss = lossOf(r);
    loss.backward();
    loss.dispose();
    params.forEach((p, i) => p.grad?.toFloat64Array().forEach((v, k) => (expected[i]![k]! += (weights[r]! * v) / (weights[0]! + weights[1]!))));
  }
  params.forEach((p) => (p.grad = null));
  const reducer = group.gradientReducer(params, 4, 4);
  const loss = lossOf(rank);
  reducer.arm(weights[rank]!);
  loss.backward();
  loss.dispose();
  const r = reducer.finish(0, weights[rank]!);
  out.hand = { result: r, got: gradients(params), expected: expected.map((e) => Array.from(e)) };
  reducer.dispose();
}
group.barrier();
group.destroy();
process.stdout.write(JSON.stringify(out));
