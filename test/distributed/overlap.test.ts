/**
 * The gradient all-reduce overlapping the backward pass (native/distributed.cc's reducer), with
 * 2 Gloo ranks on 127.0.0.1: buckets start during the backward (also when activation
 * checkpointing re-runs layers inside it, and with LoRA's trainable subset), and the result is
 * bit-for-bit the reduction done after the backward, and the 1-process gradient of the whole
 * batch within float32 rounding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { availableBackends, type ReduceResult } from "../../src/torch/distributed.js";
import { freePort, runRanks } from "./helpers.js";

const skip = availableBackends().includes("gloo") ? false : "the addon was built without Gloo (install libgloo-dev and rebuild)";
const worker = fileURLToPath(new URL("./overlap-worker.js", import.meta.url));

interface Variant { params: number; overlap: number; afterOverlap: number; loss: number[]; overlapped: number[][]; after: number[][]; one: number[][] }

test("overlapped bucketed all-reduce equals the reduction after backward and the 1-process gradient (plain, checkpointing, LoRA)", { skip }, async () => {
  const exits = await runRanks(2, await freePort(), [worker]);
  for (const e of exits) assert.equal(e.code, 0, `rank ${e.rank}: ${e.stderr.slice(-3000)}`);
  const ranks = exits.map((e) => JSON.parse(e.stdout) as Record<string, Variant>);
  for (const name of ["plain", "checkpointing", "lora"]) {
    const [r0, r1] = [ranks[0]![name]!, ranks[1]![name]!];
    // Every bucket left from inside the backward, each once its last gradient was complete.
    assert.equal(r0.overlap, 1, `${name}: fraction of buckets launched in backward`);
    assert.equal(r0.afterOverlap, 0, `${name}: unarmed reduction launches after backward`);
    assert.deepEqual(r0.overlapped, r0.after, `${name}: overlapped = after backward, bit for bit`);
    assert.deepEqual(r0.overlapped, r1.overlapped, `${name}: both ranks hold the same gradient`);
    assert.equal(r0.loss[0], r0.loss[1]);
    assert.ok(Math.abs(r0.loss[0]! - r0.loss[2]!) <= 1e-5 * Math.abs(r0.loss[2]!), `${name}: loss ${r0.loss}`);
    assert.equal(r0.overlapped.length, r0.params);
    let worst = 0;
    r0.overlapped.forEach((g, i) => {
      const one = r0.one[i]!;
      assert.equal(g.length, one.length, `${name}: param ${i} has a gradient in both`);
      const scale = Math.max(1e-3, ...one.map(Math.abs));
      g.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - one[k]!) / scale)));
    });
    // Float32 sums over two halves of the batch instead of one: rounding, relative to the largest entry.
    assert.ok(worst < 1e-4, `${name}: worst relative difference to 1 process ${worst}`);
  }
  // A parameter whose gradient changed after its bucket left, and one without a gradient on rank 0.
  for (const r of ranks) {
    const hand = r.hand as unknown as { result: ReduceResult; got: number[][]; expected: number[][] };
    hand.got.forEach((g, i) => g.forEach((v, k) => assert.ok(Math.abs(v - hand.expected[i]![k]!) <= 1e-6 * Math.max(1, Math.abs(v)), `param ${i}[${k}]: ${v} vs ${hand.expected[i]![k]}`)));
    assert.equal(hand.result.buckets, 3);
    assert.ok(hand.result.bucketsInBackward >= 2, `buckets left during the backward: ${hand.result.bucketsInBackward}`);
    assert.equal(hand.result.staleBuckets, 1, "a's bucket is reduced again");
  }
  const size = (v: Variant) => v.overlapped.reduce((n, g) => n + g.length, 0);
  assert.ok(size(ranks[0]!.lora!) < size(ranks[0]!.plain!) / 2, "LoRA reduces only its adapters' gradients");
});
