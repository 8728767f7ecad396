/** A tiny trained checkpoint for the server tests (a few SFT and F-GRPO steps on the bundled rec data). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { runTraining } from "../../src/fgrpo/trainer/run.js";

export const TINY = {
  name: "serve", seed: 3, threads: 1, blas_threads: 1,
  task: { train_examples: 300, eval_examples: 8 },
  model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
  sft: { max_steps: 6, batch_size: 8, warmup_steps: 1 },
  rl: { max_steps: 2, prompts_per_step: 2, num_generations: 4, warmup_steps: 1 },
};

/** Trains into a new temporary folder; returns the work folder and the checkpoint (`run/final`). */
export function trainTinyCheckpoint(): { work: string; checkpoint: string } {
  const work = mkdtempSync(join(tmpdir(), "fgrpo-serve-"));
  const run = join(work, "run");
  const raw = { ...TINY, output_dir: run };
  writeFileSync(join(work, "tiny.json"), JSON.stringify(raw));
  runTraining(parseConfig(raw), { quiet: true, log: () => {} });
  return { work, checkpoint: join(run, "final") };
}

/** Request lines for the tiny rec model: pools of several sizes, limits, greedy and sampled decoding. */
export function requestLines(count: number): Record<string, unknown>[] {
  const items = ["5345", "14586", "8328", "7915", "6432", "1194", "2109", "5384", "2905", "1721", "3578", "2571", "480", "589", "1580", "2858", "260", "1196", "110", "1270", "unknown-a", "unknown-b"];
  return Array.from({ length: count }, (_, i) => {
    const size = 2 + ((i * 7) % 19);
    const pool = Array.from({ length: size }, (_, j) => items[(i * 3 + j) % items.length]!);
    const unique = [...new Set(pool)];
    const r: Record<string, unknown> = {
      id: `r${i}`,
      history: items.slice((i * 5) % 10, (i * 5) % 10 + (i % 6)),
      candidates: unique.map((id, j) => (j % 2 === 0 ? { id, text: `title ${id}` } : { id })),
    };
    if (i % 3 === 1) Object.assign(r, { greedy: false, seed: 1000 + i });
    if (i % 5 === 2) Object.assign(r, { greedy: false, seed: 7, temperature: 0.7 });
    if (i % 4 === 3) Object.assign(r, { n_max: Math.min(3, unique.length), k_max: Math.min(2, unique.length) });
    return r;
  });
}
