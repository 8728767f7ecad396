/**
 * What the SFT-step benchmarks share: the demo model (configs/demo.json, bundled Games) freshly
 * created, and `steps + 2` fixed batches of unified SFT pairs (two for warm-up), so every setting
 * a benchmark alternates sees the same inputs.
 */
import { readFileSync } from "node:fs";
import * as T from "../../src/torch/index.js";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { setupTask } from "../../src/fgrpo/trainer/data.js";
import { createPolicy } from "../../src/fgrpo/trainer/policy.js";
import type { TaskVocabCodec } from "../../src/fgrpo/trainer/policy-codec.js";
import { unifiedPair } from "../../src/fgrpo/trainer/sft.js";
import { Rng } from "../../src/util/random.js";

export function demoSftSetup(steps: number) {
  const config = parseConfig(JSON.parse(readFileSync("configs/demo.json", "utf8")), "configs/demo.json");
  T.setNumThreads(config.threads, config.blas_threads);
  const task = setupTask(config);
  const policy = createPolicy(config, task.policyCodec as TaskVocabCodec, 512);
  const rng = new Rng(0);
  const batches = Array.from({ length: steps + 2 }, () => Array.from({ length: config.sft.batch_size }, () => unifiedPair(task, task.train[rng.int(task.train.length)]!, rng)));
  return { config, task, policy, batches };
}

/** `--steps=N` of a benchmark's arguments (default 15). */
export function stepsArg(args: string[]): number {
  return Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 15);
}
