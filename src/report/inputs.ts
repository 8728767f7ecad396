// Loads the directories given to `fgrpo report`: training runs (config.json + metrics) and
// comparisons (comparison.json from `fgrpo compare`, whose rows name their runs).
import { existsSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { InputError } from "../util/errors.js";
import { readJsonFile, validateJson } from "./json-file.js";
import { concatPhases, readPhaseMetrics, type PhaseMetrics } from "./metrics-file.js";

const metricMeans = z.record(z.number().nullable());
const validity = z.record(z.number().int().nonnegative());

const resultsSchema = z
  .object({
    sft: metricMeans.nullable().optional(),
    rl: metricMeans.nullable().optional(),
    sft_validity: validity.nullable().optional(),
    rl_validity: validity.nullable().optional(),
    eval_split: z.string().optional(),
    eval_examples: z.number().int().nonnegative().optional(),
  })
  .passthrough();

export type RunResults = z.infer<typeof resultsSchema>;

const maybeNumber = z.number().nullable();
const comparisonSchema = z
  .object({
    title: z.string().optional(),
    split: z.string().optional(),
    examples: z.number().int().nonnegative().optional(),
    seeds: z.array(z.number().int()).optional(),
    metrics: z.array(z.string()).min(1),
    rows: z
      .array(
        z
          .object({
            method: z.string().min(1),
            runs: z.array(z.string()),
            metrics: z.record(z.object({ mean: maybeNumber, ciLow: maybeNumber, ciHigh: maybeNumber }).passthrough()),
            vsReference: z
              .record(z.object({ meanDiff: maybeNumber, ciLow: maybeNumber, ciHigh: maybeNumber, pValue: maybeNumber }).passthrough())
              .nullable()
              .optional(),
          })
          .passthrough(),
      )
      .min(1),
    reference: z.string().nullable().optional(),
  })
  .passthrough();

export type ComparisonFile = z.infer<typeof comparisonSchema>;

export interface RunData {
  kind: "run";
  /** The directory as given (or as resolved from a comparison). */
  dir: string;
  /** A display name, unique within the report (set by the report from config.name). */
  label: string;
  config: Record<string, unknown>;
  sft: PhaseMetrics | null;
  rl: PhaseMetrics | null;
  /** null while a run has not finished (the trainer writes results.json last). */
  results: RunResults | null;
  /**
   * Validation of the SFT model this run's RL starts from, on the same task and split: its own
   * SFT phase's, or (a `fgrpo compare` RL run) that of the run whose final model is its
   * model.checkpoint. The x = 0 point of its sample-efficiency curve; null when unknown.
   */
  rlStart: { means: Record<string, number | null>; file: string } | null;
}

export interface ComparisonData {
  kind: "comparison";
  dir: string;
  file: string;
  comparison: ComparisonFile;
  /** The run directories of each row, resolved, in row order. */
  runDirs: string[][];
}

function requireDirectory(dir: string): void {
  if (!existsSync(dir)) throw new InputError("no such directory", { file: dir });
  if (!statSync(dir).isDirectory()) throw new InputError("not a directory", { file: dir });
}

/** Loads a training run directory. */
export function loadRun(dir: string): RunData {
  requireDirectory(dir);
  const configFile = join(dir, "config.json");
  if (!existsSync(configFile)) throw new InputError("missing config.json: not a training run directory", { file: dir });
  const config = readJsonFile(configFile);
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new InputError("expected a JSON object", { file: configFile });
  const phase = (name: "sft" | "rl") => {
    const file = join(dir, name, "metrics.jsonl");
    return existsSync(file) ? readPhaseMetrics(file, name) : null;
  };
  const sft = phase("sft");
  const ownRl = phase("rl");
  const rl = ownRl ?? decoupledRl(dir);
  // A run with no step logs of its own (a decoupled pipeline, whose stages log elsewhere) still
  // counts when it has results; with neither there is nothing to report.
  if (sft === null && rl === null && !existsSync(join(dir, "results.json"))) {
    throw new InputError("neither sft/metrics.jsonl nor rl/metrics.jsonl nor results.json exists: nothing to report", { file: dir });
  }
  const resultsFile = join(dir, "results.json");
  const results = existsSync(resultsFile) ? validateJson(resultsSchema, readJsonFile(resultsFile), resultsFile) : null;
  const name = (config as Record<string, unknown>).name;
  const cfg = config as Record<string, unknown>;
  return { kind: "run", dir, label: typeof name === "string" && name !== "" ? name : dir, config: cfg, sft, rl, results, rlStart: rl === null ? null : ownRl === null ? decoupledRlStart(dir, cfg) : rlStartValidation(dir, cfg) };
}

/** The stage logs of a decoupled pipeline's RL (trainer/decoupled.ts), in the order they ran. */
const RL_STAGES = ["selector-rl", "ranker-rl"];

/**
 * A decoupled pipeline's RL as one phase: its selector stage's steps, then its ranker stage's.
 * Each stage validates the chained pipeline and counts rollouts over the whole pipeline, so
 * the curve is comparable with a unified method's at equal rollouts. null for other runs.
 */
function decoupledRl(dir: string): PhaseMetrics | null {
  const stages = RL_STAGES.map((name) => join(dir, name, "metrics.jsonl")).filter((f) => existsSync(f));
  if (stages.length === 0) return null;
  return stages.map((f, i) => readPhaseMetrics(f, "rl", RL_STAGES[i]!)).reduce(concatPhases);
}

/**
 * Where a decoupled pipeline's RL starts: the chain its ranker SFT stage kept (its best
 * validation with load_best_model_at_end, else the one at its last step), or with no ranker SFT
 * stage (both stages copies of model.checkpoint, which chain to that model's own output) the
 * checkpoint's run, as for a unified run.
 */
function decoupledRlStart(dir: string, config: Record<string, unknown>): RunData["rlStart"] {
  const file = join(dir, "ranker", "metrics.jsonl");
  const log = existsSync(file) ? readPhaseMetrics(file, "sft", "ranker") : null;
  if (log === null || log.steps.length === 0) return rlStartValidation(dir, config);
  const loadBest = (config.sft as Record<string, unknown> | undefined)?.load_best_model_at_end === true;
  const lastStep = Math.max(...log.steps.map((s) => s.step));
  const kept = loadBest ? log.validations.filter((v) => v.best).at(-1) : log.validations.find((v) => v.step === lastStep);
  return kept === undefined ? null : { means: kept.metrics, file };
}

const finalValidationSchema = z.object({ means: metricMeans }).passthrough();

/** sft/final-validation.json of a run folder (written once its SFT phase is done), or null. */
function finalSftValidation(runDir: string): { means: Record<string, number | null>; file: string } | null {
  const file = join(runDir, "sft", "final-validation.json");
  if (!existsSync(file)) return null;
  return { means: validateJson(finalValidationSchema, readJsonFile(file), file).means, file };
}

/**
 * Where this run's RL starts: its own SFT phase, or the run that wrote its model.checkpoint
 * (<run>/final), provided both validated on the same task settings (split, examples, data);
 * anything else is not the same measurement, so no start point is claimed.
 */
function rlStartValidation(dir: string, config: Record<string, unknown>): RunData["rlStart"] {
  const own = finalSftValidation(dir);
  if (own !== null) return own;
  const model = config.model as Record<string, unknown> | undefined;
  const checkpoint = model?.checkpoint;
  // Only a trainer run's final model (<run>/final next to <run>/sft/final-validation.json): an
  // HF model folder's parent is no run, and its files are none of the report's business.
  if (typeof checkpoint !== "string" || basename(resolve(checkpoint)) !== "final") return null;
  const source = dirname(resolve(checkpoint));
  const sourceConfigFile = join(source, "config.json");
  if (!existsSync(sourceConfigFile) || !existsSync(join(source, "sft", "final-validation.json"))) return null;
  const sourceConfig = readJsonFile(sourceConfigFile) as Record<string, unknown> | null;
  if (JSON.stringify(sourceConfig?.task) !== JSON.stringify(config.task)) return null;
  return finalSftValidation(source);
}

/**
 * Finds a run a comparison names. `fgrpo compare` may record paths relative to the comparison
 * folder (its run subdirectories) or to where it was run, so both are tried, in that order.
 */
function resolveComparisonRun(dir: string, run: string, file: string, field: string): string {
  const candidates = isAbsolute(run) ? [run] : [join(dir, run), resolve(run)];
  const found = candidates.find((c) => existsSync(join(c, "config.json")));
  if (found === undefined) throw new InputError(`run "${run}" not found (looked for config.json in ${candidates.join(" and ")})`, { file, field });
  return found;
}

/** Loads a comparison directory: comparison.json; its runs are loaded by the caller. */
export function loadComparison(dir: string): ComparisonData {
  requireDirectory(dir);
  const file = join(dir, "comparison.json");
  const comparison = validateJson(comparisonSchema, readJsonFile(file), file);
  const methods = comparison.rows.map((r) => r.method);
  const duplicate = methods.find((m, i) => methods.indexOf(m) !== i);
  if (duplicate !== undefined) throw new InputError(`method "${duplicate}" has two rows`, { file, field: "rows" });
  if (comparison.reference != null && !methods.includes(comparison.reference)) {
    throw new InputError(`reference "${comparison.reference}" is not one of the rows' methods (${methods.join(", ")})`, { file, field: "reference" });
  }
  const runDirs = comparison.rows.map((row, i) => row.runs.map((run, j) => resolveComparisonRun(dir, run, file, `rows[${i}].runs[${j}]`)));
  return { kind: "comparison", dir, file, comparison, runDirs };
}

/** Loads a directory given on the command line: a comparison if it has comparison.json, else a run. */
export function loadInput(dir: string): RunData | ComparisonData {
  requireDirectory(dir);
  if (existsSync(join(dir, "comparison.json"))) return loadComparison(dir);
  if (existsSync(join(dir, "config.json"))) return loadRun(dir);
  throw new InputError("neither config.json (a training run) nor comparison.json (a comparison) found", { file: dir });
}
