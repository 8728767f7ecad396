// Writes realistic run and comparison directories in the trainer's formats, so the report can be
// tested without training anything. Curves are smooth trends plus seeded noise; a few records
// carry what real logs carry: a non-finite value written as null, a warning, unknown keys.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Method = "fgrpo" | "grpo" | "gspo";

export interface RunFixtureOptions {
  name: string;
  method?: Method;
  seed?: number;
  sftSteps?: number;
  rlSteps?: number;
  validateEvery?: number;
  /** Scales how far rewards and metrics improve (1 = the default run). */
  quality?: number;
}

/** Deterministic noise (mulberry32), so fixtures and the tests' expectations never drift. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (v: number) => Number(v.toPrecision(6));
const rise = (t: number, scale: number) => 1 - Math.exp(-t / scale);

function jsonl(records: object[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}

export const VALIDATION_METRICS = ["ndcg@1", "ndcg@5", "recall@5", "slate_recall"];

function validationMetrics(progress: number, noise: () => number): Record<string, number> {
  const n = () => (noise() - 0.5) * 0.02;
  return {
    "ndcg@1": round(0.1 + 0.25 * progress + n()),
    "ndcg@5": round(0.18 + 0.3 * progress + n()),
    "recall@5": round(0.25 + 0.35 * progress + n()),
    slate_recall: round(0.4 + 0.45 * progress + n()),
  };
}

function validityCounts(total: number, okShare: number, noise: () => number): Record<string, number> {
  const bad = total - Math.round(total * okShare);
  const wrongFormat = Math.round(bad * (0.3 + 0.2 * noise()));
  const outOfPool = Math.round((bad - wrongFormat) * 0.5);
  const repetition = Math.round((bad - wrongFormat - outOfPool) * 0.6);
  const tooLong = Math.round((bad - wrongFormat - outOfPool - repetition) * 0.5);
  const rankNotInSlate = bad - wrongFormat - outOfPool - repetition - tooLong;
  return { ok: total - bad, wrong_format: wrongFormat, out_of_pool: outOfPool, repetition, too_long: tooLong, rank_not_in_slate: rankNotInSlate };
}

/** Writes config.json, sft/metrics.jsonl, rl/metrics.jsonl and results.json under `dir`. */
export function writeRunFixture(dir: string, options: RunFixtureOptions): void {
  const { name, method = "fgrpo", seed = 0, sftSteps = 40, rlSteps = 60, validateEvery = 10, quality = 1 } = options;
  const noise = rng(seed * 1000 + name.length * 17 + (method === "fgrpo" ? 1 : 2));
  // Seeds of one method learn at slightly different paces, as real seeds do.
  const pace = 0.8 + 0.4 * noise();
  const rl = { method, learning_rate: 5e-4, max_steps: rlSteps, prompts_per_step: 8, num_generations: 8, rank_weight: 1, beta: 0.01, num_minibatches: 1 };
  const config = { name, seed, output_dir: dir, task: { task: "rec", pool_size: 20 }, model: { checkpoint: null, hidden_size: 128, num_layers: 2 }, sft: { max_steps: sftSteps, learning_rate: 3e-3 }, rl };
  mkdirSync(join(dir, "sft"), { recursive: true });
  mkdirSync(join(dir, "rl"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 1));

  const sft: object[] = [];
  let sftFinal: Record<string, number> = {};
  for (let step = 1; step <= sftSteps; step++) {
    const p = rise(step, (sftSteps / 3) * pace);
    sft.push({ step, phase: "sft", loss: round(3.2 - 2.3 * p + (noise() - 0.5) * 0.15), token_accuracy: round(0.3 + 0.6 * p), grad_norm: round(2 - p), learning_rate: 3e-3 });
    if (step % validateEvery === 0 || step === sftSteps) {
      sftFinal = validationMetrics(0.4 * p * quality, noise);
      sft.push({ step, phase: "sft", validation: sftFinal, validity: validityCounts(50, 0.7 + 0.2 * p, noise), best: true });
    }
  }
  writeFileSync(join(dir, "sft", "metrics.jsonl"), jsonl(sft));

  const rollouts = rl.prompts_per_step * rl.num_generations;
  const records: object[] = [];
  let rlFinal: Record<string, number> = {};
  for (let step = 1; step <= rlSteps; step++) {
    const gen = rise(step, (rlSteps / 4) * pace) * quality;
    const rank = rise(Math.max(0, step - rlSteps / 5), (rlSteps / 3) * pace) * quality;
    const jitter = () => (noise() - 0.5) * 0.06;
    const rewardGen = 0.35 + 0.4 * gen + jitter();
    const rewardRank = 0.15 + 0.45 * rank + jitter();
    const clip =
      method === "fgrpo"
        ? { clip_low_gen: round(0.02 * noise()), clip_high_gen: round(0.03 * noise()), clip_low_rank: round(0.02 * noise()), clip_high_rank: round(0.025 * noise()) }
        : { clip_low: round(0.03 * noise()), clip_high: round(0.03 * noise()) };
    const record: Record<string, unknown> = {
      step,
      phase: "rl",
      method,
      loss: round(0.05 * (noise() - 0.5)),
      reward_gen_mean: round(rewardGen),
      reward_gen_std: round(0.22 - 0.08 * gen),
      reward_rank_mean: round(rewardRank),
      reward_rank_std: round(0.2 - 0.05 * rank),
      reward_joint_mean: round(rewardGen + rewardRank),
      adv_gen_std: round(0.2 - 0.07 * gen + jitter() / 6),
      adv_rank_std: round(0.18 - 0.04 * rank + jitter() / 6),
      adv_joint_std: round(0.3 - 0.1 * gen + jitter() / 6),
      zero_var_frac_gen: round(0.05 + 0.3 * gen * noise()),
      zero_var_frac_rank: round(0.1 + 0.2 * rank * noise()),
      zero_var_frac_joint: round(0.02 + 0.1 * gen * noise()),
      validity: validityCounts(rollouts, 0.8 + 0.18 * gen, noise),
      entropy: round(1.4 - 0.5 * gen + jitter() / 6),
      grad_norm: round(0.8 + noise()),
      skipped_updates: 0,
      learning_rate: 5e-4,
      completion_tokens: rollouts * 30,
      rollout_tokens_per_s: round(4000 + 500 * noise()),
      rollouts_per_s: round(90 + 10 * noise()),
      ms_generation: round(420 + 60 * noise()),
      ms_scoring: round(130 + 20 * noise()),
      ms_update: round(210 + 30 * noise()),
      kl: round(0.002 * step * (0.8 + 0.4 * noise())),
      ...clip,
      logprob_mismatch: 1e-5,
    };
    // The trainer writes a non-finite gradient norm as null and names the key under non_finite.
    if (step === Math.floor(rlSteps / 2)) {
      record.grad_norm = null;
      record.non_finite = ["grad_norm"];
      records.push({ step, warning: "non-finite gradient norm; update skipped" });
    }
    records.push(record);
    if (step % validateEvery === 0 || step === rlSteps) {
      rlFinal = validationMetrics(0.4 + 0.6 * gen, noise);
      records.push({ step, phase: "rl", validation: rlFinal, validity: validityCounts(50, 0.9 + 0.08 * gen, noise), best: true });
    }
  }
  writeFileSync(join(dir, "rl", "metrics.jsonl"), jsonl(records));

  const results = {
    sft: sftSteps > 0 ? sftFinal : null,
    rl: rlSteps > 0 ? rlFinal : null,
    sft_validity: sftSteps > 0 ? validityCounts(50, 0.9, noise) : null,
    rl_validity: rlSteps > 0 ? validityCounts(50, 0.97, noise) : null,
    eval_split: "valid",
    eval_examples: 50,
  };
  writeFileSync(join(dir, "results.json"), JSON.stringify(results, null, 1));
}

export interface ComparisonFixture {
  dir: string;
  /** The run directories, in row order. */
  runs: string[];
  comparison: {
    title: string;
    metrics: string[];
    reference: string;
    rows: { method: string; runs: string[]; metrics: Record<string, { mean: number; ciLow: number; ciHigh: number }>; vsReference: Record<string, { meanDiff: number; ciLow: number; ciHigh: number; pValue: number }> | null }[];
  };
}

/** A comparison of F-GRPO and GRPO over two seeds each, with its runs in runs/<method>-s<seed>. */
export function writeComparisonFixture(dir: string): ComparisonFixture {
  const seeds = [0, 1];
  const methods: { method: Method; quality: number }[] = [
    { method: "fgrpo", quality: 1 },
    { method: "grpo", quality: 0.7 },
  ];
  const means: Record<Method, Record<string, number>> = {
    fgrpo: { "ndcg@1": 0.3412, "ndcg@5": 0.4487, "recall@5": 0.5523, slate_recall: 0.8011 },
    grpo: { "ndcg@1": 0.2954, "ndcg@5": 0.4021, "recall@5": 0.5617, slate_recall: 0.7302 },
    gspo: {},
  };
  const rows = methods.map(({ method, quality }) => {
    const runs = seeds.map((seed) => {
      const rel = `runs/${method}-s${seed}`;
      writeRunFixture(join(dir, rel), { name: `${method}-s${seed}`, method, seed, quality });
      return rel;
    });
    const metrics = Object.fromEntries(VALIDATION_METRICS.map((m) => [m, { mean: means[method][m]!, ciLow: round(means[method][m]! - 0.021), ciHigh: round(means[method][m]! + 0.019) }]));
    const vsReference =
      method === "fgrpo"
        ? null
        : Object.fromEntries(
            VALIDATION_METRICS.map((m) => {
              const d = round(means[method][m]! - means.fgrpo[m]!);
              return [m, { meanDiff: d, ciLow: round(d - 0.015), ciHigh: round(d + 0.015), pValue: Math.abs(d) > 0.02 ? 0.004 : 0.41 }];
            }),
          );
    return { method, runs, metrics, vsReference };
  });
  const comparison = { title: "F-GRPO vs GRPO (test)", split: "test", examples: 500, seeds, metrics: VALIDATION_METRICS, rows, reference: "fgrpo" };
  writeFileSync(join(dir, "comparison.json"), JSON.stringify(comparison, null, 1));
  return { dir, runs: rows.flatMap((r) => r.runs.map((run) => join(dir, run))), comparison };
}
