// One RL step with several minibatches: π_old is the policy that sampled the batch, so every
// minibatch's "old" log-probs must match the sampling log-probs, including minibatches that run
// after an earlier minibatch's update has moved the policy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

test("with num_minibatches > 1 every minibatch's π_old is scored before the first update", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-rlstep-"));
  const records: Record<string, unknown>[] = [];
  runTraining(
    parseConfig({
      seed: 5,
      threads: 1,
      blas_threads: 1,
      output_dir: dir,
      task: { train_examples: 200, eval_examples: 8 },
      model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
      sft: { max_steps: 0 },
      // A large learning rate so one update visibly moves the log-probs of the next minibatch.
      rl: { max_steps: 2, prompts_per_step: 4, num_generations: 4, num_minibatches: 4, learning_rate: 0.02, warmup_steps: 0, lr_scheduler_type: "constant" },
    }),
    { quiet: true, log: () => {}, onBatch: (_b, r) => records.push(r) },
  );
  assert.equal(records.length, 2);
  // The sample-efficiency x axis: rollouts of the whole batch (prompts × generations) so far.
  assert.deepEqual(records.map((r) => r.rollouts_seen), [16, 32]);
  for (const r of records) {
    // Float noise between the sampler and the scorer is ~1e-5; a stale π_old differs by the update (≫ 1e-2 here).
    assert.ok((r.logprob_mismatch as number) < 1e-3, `π_old agrees with the sampling log-probs (mismatch ${r.logprob_mismatch})`);
    assert.ok(Number.isFinite(r.loss as number));
  }
});
