// A diverging update stops the run at the step that made it, with a one-line error naming the
// learning-rate field, the step and what became non-finite; the checkpoint written before stays
// byte-identical and no checkpoint of the broken weights is written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as T from "../../src/torch/index.js";
import { StepFailure, TrainingLoop, type OptimSettings } from "../../src/fgrpo/trainer/loop.js";

const SETTINGS: OptimSettings = {
  learning_rate: 0.01, warmup_steps: 0, lr_scheduler_type: "constant", weight_decay: 0.01, adam_beta1: 0.9, adam_beta2: 0.999,
  max_grad_norm: 1, eval_every: 0, save_every: 1, max_steps: 10,
};

function setup(phase: string, maxConsecutiveFailures = 3) {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-diverge-"));
  const w = T.tensor([[0.5, -1], [2, 0.25]]).requiresGrad_();
  const b = T.tensor([0.1, 0.2]).requiresGrad_();
  const params = new Map([["w", w], ["b", b]]);
  const loop = new TrainingLoop({
    phase, outputDir: dir, params, settings: { ...SETTINGS }, seed: 1, config: { test: true },
    saveModel: (d) => T.saveSafetensors(join(d, "model.safetensors"), params),
    loadModel: () => {}, bestMetric: "ndcg@5", maxConsecutiveFailures, log: () => {},
  });
  /** One training step on a finite loss; returns update()'s result. */
  const step = () => {
    loop.currentLr();
    const loss = w.matmul(b.unsqueeze(1)).square().sum().add(b.square().sum());
    loss.backward();
    const r = loop.update(loss.item());
    loss.dispose();
    loop.step += 1;
    return r;
  };
  const cleanup = () => {
    loop.dispose();
    w.dispose();
    b.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, loop, step, cleanup };
}

/** Every file under a folder with its bytes, to compare a checkpoint before and after. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p, readFileSync(p).toString("base64"));
    }
  };
  walk(dir);
  return out;
}

function failureOf(fn: () => unknown): StepFailure {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StepFailure, `a StepFailure, got ${String(e)}`);
    return e;
  }
  assert.fail("the step did not stop the run");
}

for (const [phase, lr, what] of [["sft", 1e30, /parameter w as large as 1\.\d\de\+30 \(its square overflows float32/], ["rl", Infinity, /parameter w NaN/]] as const) {
  test(`${phase}: an update with learning rate ${lr} stops at its step, naming ${phase}.learning_rate; the earlier checkpoint is untouched`, () => {
    const { dir, loop, step, cleanup } = setup(phase);
    try {
      assert.ok(step() !== null);
      const first = loop.save();
      const before = snapshot(join(dir, phase, "checkpoints"));
      loop.opts.settings.learning_rate = lr;
      const e = failureOf(step);
      assert.equal(e.location.field, `${phase}.learning_rate`);
      assert.match(e.message, new RegExp(`^field "${phase}\\.learning_rate": ${phase} step 2: the update \\(learning rate ${lr === Infinity ? "Infinity" : "1e\\+30"}\\) made`));
      assert.match(e.message, what);
      assert.ok(e.message.includes(`the last good checkpoint, ${first}, is untouched`), e.message);
      assert.ok(!e.message.includes("\n"), "one line");
      assert.equal(loop.step, 1, "the failed step is not counted");
      assert.deepEqual(snapshot(join(dir, phase, "checkpoints")), before, "the checkpoint folder is byte-identical");
    } finally {
      cleanup();
    }
  });
}

test("the first update blowing up says that no checkpoint of the phase had been written", () => {
  const { step, cleanup, loop } = setup("sft");
  try {
    loop.opts.settings.learning_rate = 1e30;
    const e = failureOf(step);
    assert.match(e.message, /sft step 1: .*no sft checkpoint had been written yet$/);
  } finally {
    cleanup();
  }
});

test("large but usable parameters pass: the bound is where a square overflows float32 (1.8e19)", () => {
  // The first AdamW step moves every value by ≈ lr: 1e18 is large but its square is finite;
  // 1e20 is not.
  for (const [lr, stops] of [[1e18, false], [1e20, true]] as const) {
    const { step, cleanup, loop } = setup("sft");
    try {
      loop.opts.settings.learning_rate = lr;
      if (stops) assert.match(failureOf(step).message, /sft step 1: the update \(learning rate 1e\+20\) made parameter \w+ as large as 1\.\d\de\+20/);
      else assert.ok(step() !== null);
    } finally {
      cleanup();
    }
  }
});

test("non-finite losses skip steps; too many in a row stop the run naming the learning rate and the first failed step", () => {
  const { dir, loop, step, cleanup } = setup("rl", 3);
  try {
    step();
    loop.save();
    const before = snapshot(join(dir, "rl", "checkpoints"));
    assert.equal(loop.update(NaN), null);
    assert.equal(loop.update(Infinity), null);
    const e = failureOf(() => loop.update(NaN));
    assert.equal(e.location.field, "rl.learning_rate");
    assert.match(e.message, /rl step 2: 3 consecutive non-finite steps, the first at step 2: non-finite loss \(NaN\) \(the parameters are those of step 1's update, learning rate 0\.01\); stopping\. Lower rl\.learning_rate; the last good checkpoint, .*step-000001, is untouched$/);
    assert.deepEqual(snapshot(join(dir, "rl", "checkpoints")), before);
    assert.ok(!existsSync(join(dir, "rl", "checkpoints", "step-000002")));
    // A finite step in between resets the count.
    const { loop: l2, step: s2, cleanup: c2 } = setup("sft", 2);
    try {
      assert.equal(l2.update(NaN), null);
      assert.ok(s2() !== null);
      assert.equal(l2.update(NaN), null);
    } finally {
      c2();
    }
  } finally {
    cleanup();
  }
});
