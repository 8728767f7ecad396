/**
 * Comparing methods at equal budget (`fgrpo compare`, and the demo). Per seed: one SFT run that
 * every RL method starts from, then each RL method with the same steps, prompts and rollouts;
 * classic baselines score the same pools. Everything is evaluated on the same held-out examples
 * with greedy decoding; per-query scores are pooled over seeds for means with 95% bootstrap
 * intervals and paired tests against the reference method (F-GRPO).
 *
 *   <dir>/comparison.json   the table (read by `fgrpo report`)
 *   <dir>/seed-<s>/sft, <dir>/seed-<s>/<method>   the runs (no sft folder when the config gives
 *                                                  model.checkpoint and sft.max_steps 0)
 *
 * An experiment file's `compare` section names the methods, seeds and per-method rl overrides
 * (named variants such as GRPO with Dr. GRPO's loss_type). A rerun reuses finished runs: each
 * resumes from its last checkpoint when its config is unchanged.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { bootstrapMeanCi, pairedTest } from "../../eval/bootstrap.js";
import { evaluateRun, type EvalSummary, type QueryRun } from "../../eval/metrics.js";
import { baselinesOf, makeBaseline, QA_BASELINES, REC_BASELINES, SYNTHETIC_BASELINES } from "../../tasks/baselines/index.js";
import type { TaskName } from "../../tasks/types.js";
import { clipBounds, isTextPolicyFolder, parseConfig, type TrainConfig } from "./config.js";
import { runTraining, type RunHooks } from "./run.js";
import { setupTask, type TaskSetup } from "./data.js";
import { loadPolicy, loadPolicyCodec, disposePolicy } from "./policy.js";
import { InputError } from "../../util/errors.js";
import { EVAL_METRICS, evaluatePolicy } from "./evaluate.js";
import { runDecoupled, DECOUPLED_METHODS } from "./decoupled.js";
import { applyThreads } from "./threads.js";

export const RL_METHODS = ["fgrpo", "grpo", "gspo", "gspo_token"] as const;
export const COMPARE_METHODS: readonly string[] = ["sft", ...RL_METHODS, ...DECOUPLED_METHODS, ...new Set([...REC_BASELINES, ...QA_BASELINES, ...SYNTHETIC_BASELINES])];

export interface CompareOptions {
  methods: string[];
  seeds: number[];
  dir: string;
  split: "valid" | "test";
  /** Examples of the split evaluated (null = all). */
  examples: number | null;
  title?: string;
  hooks?: RunHooks;
}

interface MethodScores {
  method: string;
  runs: string[];
  /** seed → query id → metric → value */
  perSeed: Map<number, Map<string, Record<string, number>>>;
}

export interface ComparisonRow {
  method: string;
  runs: string[];
  metrics: Record<string, { mean: number; ciLow: number; ciHigh: number }>;
  vsReference: Record<string, { meanDiff: number; ciLow: number; ciHigh: number; pValue: number }> | null;
}

export interface Comparison {
  title: string;
  split: string;
  examples: number;
  seeds: number[];
  metrics: string[];
  rows: ComparisonRow[];
  reference: string;
}

export function validateMethods(methods: string[], task: TaskName, variants: TrainConfig["compare"]["rl_overrides"] = {}): void {
  const classic = baselinesOf(task);
  for (const m of methods) {
    if (Object.hasOwn(variants, m) && !COMPARE_METHODS.includes(m)) {
      rlMethodOf(m, variants);
      continue;
    }
    if (!COMPARE_METHODS.includes(m) || (!isModelMethod(m) && !classic.includes(m))) {
      throw new Error(`unknown method "${m}" for task ${task}; allowed: sft, ${RL_METHODS.join(", ")}, ${DECOUPLED_METHODS.join(", ")}, ${classic.join(", ")}, or a variant named in compare.rl_overrides`);
    }
  }
}

function isModelMethod(m: string): boolean {
  return m === "sft" || (RL_METHODS as readonly string[]).includes(m) || (DECOUPLED_METHODS as readonly string[]).includes(m);
}

/**
 * The RL method a compared method runs: its own name, or for a variant (a key of
 * compare.rl_overrides that is not a built-in method) the `method` it sets; null for the others.
 */
export function rlMethodOf(name: string, variants: TrainConfig["compare"]["rl_overrides"]): TrainConfig["rl"]["method"] | null {
  const set = Object.hasOwn(variants, name) ? variants[name]!.method : undefined;
  if ((RL_METHODS as readonly string[]).includes(name)) {
    if (set !== undefined && set !== name) throw new InputError(`compare.rl_overrides.${name}.method is "${set}": a built-in method's overrides cannot change its method (name a variant instead)`, { field: `compare.rl_overrides.${name}.method` });
    return name as TrainConfig["rl"]["method"];
  }
  if (COMPARE_METHODS.includes(name)) {
    if (set !== undefined) throw new InputError(`compare.rl_overrides.${name}.method: ${name} is not an RL method`, { field: `compare.rl_overrides.${name}.method` });
    return null;
  }
  if (set === undefined || !(RL_METHODS as readonly string[]).includes(set)) {
    throw new InputError(`compare.rl_overrides.${name} names a variant, so it must set "method" to one of ${RL_METHODS.join(", ")}`, { field: `compare.rl_overrides.${name}.method` });
  }
  return set;
}

/** The rl section a compared method runs with: the base one, its overrides, and its RL method. */
export function methodRlConfig(base: TrainConfig, name: string): TrainConfig["rl"] {
  const method = rlMethodOf(name, base.compare.rl_overrides) ?? base.rl.method;
  return { ...base.rl, ...base.compare.rl_overrides[name], method };
}

/** Runs every method for every seed and writes comparison.json. */
export function runComparison(base: TrainConfig, opts: CompareOptions): Comparison {
  validateMethods(opts.methods, base.task.task, base.compare.rl_overrides);
  for (const m of Object.keys(base.compare.sft_overrides)) {
    if (!(DECOUPLED_METHODS as readonly string[]).includes(m)) throw new InputError(`only the decoupled pipelines (${DECOUPLED_METHODS.join(", ")}) train SFT stages of their own; the other methods share one SFT start (set sft itself)`, { field: `compare.sft_overrides.${m}` });
  }
  const decoupled = opts.methods.filter((m) => (DECOUPLED_METHODS as readonly string[]).includes(m));
  if (decoupled.length > 0 && base.model.checkpoint && isTextPolicyFolder(base.model.checkpoint)) {
    throw new InputError(`${decoupled.join(", ")} splice token-level slates and need task-vocabulary models; with a text model (model.checkpoint with tokenizer.json) compare sft, ${RL_METHODS.join(", ")} and the classic baselines`, { field: "methods" });
  }
  // Before anything is computed: evaluations of a checkpoint (sft.max_steps 0) train nothing,
  // and must still run at the config's thread counts.
  applyThreads(base);
  const log = opts.hooks?.log ?? ((l: string) => console.error(l));
  const clipNote = clipRangeNote(base, opts.methods);
  if (clipNote) log(clipNote);
  const scores = new Map<string, MethodScores>(opts.methods.map((m) => [m, { method: m, runs: [], perSeed: new Map() }]));
  let examplesCount = 0;
  for (const seed of opts.seeds) {
    const seedDir = join(opts.dir, `seed-${seed}`);
    mkdirSync(seedDir, { recursive: true });
    // A run's config is its own: the study's compare section stays out of it (so a run is reused
    // by any experiment file that gives it the same settings).
    const withSeed = (patch: Record<string, unknown>) => parseConfig({ ...deepMerge(base, { seed, ...patch }), compare: {} });
    const needsSft = opts.methods.some((m) => m === "sft" || rlMethodOf(m, base.compare.rl_overrides) !== null);
    // A given SFT checkpoint with no SFT steps is the warm start itself: every seed's RL runs start
    // from it directly (nothing copied, so concurrent compares of one study never write it).
    const givenSft = base.model.checkpoint !== null && base.sft.max_steps === 0;
    let sftModel: string | null = givenSft ? base.model.checkpoint : null;
    if (needsSft && !givenSft) {
      log(`seed ${seed}: SFT warm start`);
      const sftConfig = withSeed({ name: `${base.name}-sft-s${seed}`, output_dir: join(seedDir, "sft"), rl: { max_steps: 0 } });
      sftModel = runTraining(sftConfig, opts.hooks).finalModel;
    }
    // Examples are encoded by the codec of the models evaluated (the SFT model's, or the
    // checkpoint's: a tokenizer in text mode), not by a fresh task vocabulary.
    const codecFolder = sftModel ?? base.model.checkpoint;
    const taskConfig = withSeed({ output_dir: join(seedDir, "sft") });
    const task = setupTask(taskConfig, codecFolder ? loadPolicyCodec(taskConfig, codecFolder) : undefined);
    const examples = task.evalExamples(opts.split, opts.examples ?? undefined);
    examplesCount = examples.length;
    for (const method of opts.methods) {
      const s = scores.get(method)!;
      let perQuery: EvalSummary["perQuery"];
      if (method === "sft") {
        perQuery = evaluateModel(sftModel!, task, examples, base, seed);
        // A given checkpoint is no run of this comparison (it has no logs to report), like a baseline.
        if (!givenSft) s.runs.push(join(seedDir, "sft"));
      } else if (rlMethodOf(method, base.compare.rl_overrides) !== null) {
        const rl = methodRlConfig(base, method);
        log(`seed ${seed}: RL with ${method}${method === rl.method ? "" : ` (${rl.method})`} from the SFT model, learning rate ${rl.learning_rate}`);
        const out = join(seedDir, method);
        const cfg = withSeed({ name: `${base.name}-${method}-s${seed}`, output_dir: out, model: { checkpoint: sftModel }, sft: { max_steps: 0 }, rl });
        const r = runTraining(cfg, opts.hooks);
        perQuery = evaluateModel(r.finalModel, task, examples, base, seed);
        s.runs.push(out);
      } else if ((DECOUPLED_METHODS as readonly string[]).includes(method)) {
        log(`seed ${seed}: ${method}`);
        const r = runDecoupled(method, withSeed({ name: `${base.name}-${method}-s${seed}`, output_dir: join(seedDir, method), sft: base.compare.sft_overrides[method] ?? {}, rl: methodRlConfig(base, method) }), task, examples, opts.hooks);
        perQuery = r.perQuery;
        s.runs.push(join(seedDir, method));
      } else {
        perQuery = evaluateBaseline(method, task, examples, seed);
      }
      s.perSeed.set(seed, perQuery);
    }
  }
  const comparison = tabulate(scores, opts, examplesCount, base);
  writeFileAtomic(join(opts.dir, "comparison.json"), JSON.stringify(comparison, null, 1));
  return comparison;
}

/**
 * A base `rl.epsilon` reaches every RL method (each method gets the same symmetric range, see
 * clipBounds); said once, because sequence-level ratios (F-GRPO, GSPO) and token-level ones
 * (GRPO) usually want ranges orders of magnitude apart. Null when nothing is overridden.
 */
export function clipRangeNote(base: TrainConfig, methods: readonly string[]): string | null {
  const rl = methods.filter((m) => rlMethodOf(m, base.compare.rl_overrides) !== null);
  if (rl.length === 0 || (base.rl.epsilon === null && base.rl.epsilon_high === null)) return null;
  const ranges = rl.map((m) => {
    const b = clipBounds(methodRlConfig(base, m));
    return `${m} [${1 - b.epsilon}, ${1 + b.epsilonHigh}]`;
  });
  return `note: the base config's clip range applies to every RL method: ${ranges.join(", ")} (unset rl.epsilon/epsilon_high for each method's preset)`;
}

function evaluateModel(dir: string, task: TaskSetup, examples: ReturnType<TaskSetup["evalExamples"]>, base: TrainConfig, seed: number): EvalSummary["perQuery"] {
  const policy = loadPolicy(dir, base);
  try {
    return evaluatePolicy(policy, task, examples, { constrained: base.rl.constrained_decoding, seed }).summary.perQuery;
  } finally {
    disposePolicy(policy);
  }
}

function evaluateBaseline(method: string, task: TaskSetup, examples: ReturnType<TaskSetup["evalExamples"]>, seed: number): EvalSummary["perQuery"] {
  const split = task.data.task === "qa" ? "test" : "train";
  const ranker = makeBaseline(task.data.task, method, { ...task.data.baselineInputs(split), seed });
  const runs = new Map<string, QueryRun>();
  const gold = new Map<string, ReadonlyMap<string, number>>();
  for (const e of examples) {
    const ranking = ranker.rankPool(e.example);
    runs.set(e.example.id, { id: e.example.id, ranking: ranking.slice(0, task.layout.kMax), slate: ranking.slice(0, task.layout.nMax) });
    gold.set(e.example.id, e.example.relevant);
  }
  return evaluateRun(runs, gold, EVAL_METRICS, { bootstrapSamples: 0 }).perQuery;
}

/** The method others are tested against: F-GRPO (or the first variant running it), else the first. */
export function referenceMethod(methods: readonly string[], variants: TrainConfig["compare"]["rl_overrides"]): string {
  if (methods.includes("fgrpo")) return "fgrpo";
  return methods.find((m) => rlMethodOf(m, variants) === "fgrpo") ?? methods[0]!;
}

/** Pools per-query scores over seeds; CIs by bootstrap, paired tests against the reference. */
function tabulate(scores: Map<string, MethodScores>, opts: CompareOptions, examples: number, base: TrainConfig): Comparison {
  const reference = referenceMethod(opts.methods, base.compare.rl_overrides);
  const keys = (s: MethodScores) => [...s.perSeed].flatMap(([seed, q]) => [...q.keys()].map((id) => `${seed}/${id}`));
  const values = (s: MethodScores, metric: string) => [...s.perSeed.values()].flatMap((q) => [...q.values()].map((row) => row[metric]!));
  const ref = scores.get(reference)!;
  const rows: ComparisonRow[] = [...scores.values()].map((s) => {
    const metrics: ComparisonRow["metrics"] = {};
    const vs: NonNullable<ComparisonRow["vsReference"]> = {};
    for (const m of EVAL_METRICS) {
      metrics[m] = bootstrapMeanCi(values(s, m), 1000, base.seed);
      if (s.method !== reference) {
        if (keys(s).join() !== keys(ref).join()) throw new Error(`compare: ${s.method} and ${reference} were scored on different queries`);
        const p = pairedTest(values(s, m), values(ref, m), { seed: base.seed });
        vs[m] = { meanDiff: p.meanDiff, ciLow: p.ciLow, ciHigh: p.ciHigh, pValue: p.pValue };
      }
    }
    return { method: s.method, runs: s.runs, metrics, vsReference: s.method === reference ? null : vs };
  });
  return { title: opts.title ?? `${base.name}: ${opts.methods.join(", ")}`, split: opts.split, examples, seeds: opts.seeds, metrics: [...EVAL_METRICS], rows, reference };
}

function deepMerge(a: unknown, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v !== null && typeof v === "object" && !Array.isArray(v) && cur !== null && typeof cur === "object" ? deepMerge(cur, v as Record<string, unknown>) : v;
  }
  return out;
}
