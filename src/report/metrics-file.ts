// Reads one phase's metrics.jsonl (written by the trainer's JsonlLogger) into typed records.
// The file is the contract between trainer and report, so anything that does not fit it is an
// InputError naming the file and line: a report silently missing half a run would mislead.
import { readJsonl } from "../util/jsonl.js";
import { InputError } from "../util/errors.js";

export type Phase = "sft" | "rl";

/** Rollout outcome counts (the validity taxonomy); categories are open-ended. */
export type ValidityCounts = Record<string, number>;

/** A training step: numeric fields by key (null where the trainer logged a non-finite value). */
export interface StepRecord {
  kind: "step";
  step: number;
  line: number;
  values: Record<string, number | null>;
  validity: ValidityCounts | null;
  nonFinite: string[];
}

/** A periodic validation of the current policy. */
export interface ValidationRecord {
  kind: "validation";
  step: number;
  line: number;
  metrics: Record<string, number | null>;
  validity: ValidityCounts | null;
  best: boolean;
}

export interface WarningRecord {
  kind: "warning";
  step: number;
  line: number;
  message: string;
}

/** Early stopping ended the phase at `step`; its best validation was at `bestStep`. */
export interface EarlyStopRecord {
  kind: "early_stop";
  step: number;
  line: number;
  bestStep: number | null;
}

export interface PhaseMetrics {
  phase: Phase;
  file: string;
  steps: StepRecord[];
  validations: ValidationRecord[];
  warnings: WarningRecord[];
  earlyStop: EarlyStopRecord | null;
}

/** Keys whose values are not per-step numbers; everything else numeric is plotted by name. */
const STRUCTURAL_KEYS = new Set(["step", "phase", "method", "validity", "validation", "best", "warning", "non_finite", "early_stopped", "best_step"]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses a {name: number|null} object such as `validation`; other value types are errors. */
function numberMap(v: unknown, where: { file: string; line: number; field: string }): Record<string, number | null> {
  if (!isPlainObject(v)) throw new InputError("expected an object of numbers", where);
  const out: Record<string, number | null> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x !== "number") throw new InputError(`expected a number or null, got ${JSON.stringify(x)}`, { ...where, field: `${where.field}.${k}` });
    out[k] = x;
  }
  return out;
}

function validityCounts(v: unknown, file: string, line: number): ValidityCounts | null {
  if (v === undefined || v === null) return null;
  const counts = numberMap(v, { file, line, field: "validity" });
  const out: ValidityCounts = {};
  for (const [k, n] of Object.entries(counts)) {
    if (n === null || !Number.isInteger(n) || n < 0) throw new InputError(`expected a count (integer ≥ 0), got ${JSON.stringify(n)}`, { file, line, field: `validity.${k}` });
    out[k] = n;
  }
  return out;
}

/**
 * Turns one parsed JSON line into a record, or throws an InputError naming file:line. `phase` is
 * the value its `phase` field must have (a decoupled pipeline's stages log their own names).
 */
export function parseMetricsRecord(value: unknown, phase: string, file: string, line: number): StepRecord | ValidationRecord | WarningRecord | EarlyStopRecord {
  if (!isPlainObject(value)) throw new InputError("expected a JSON object", { file, line });
  const step = value.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0) {
    throw new InputError(`expected an integer step ≥ 0, got ${JSON.stringify(step)}`, { file, line, field: "step" });
  }
  if ("warning" in value) {
    if (typeof value.warning !== "string") throw new InputError("expected a string", { file, line, field: "warning" });
    return { kind: "warning", step, line, message: value.warning };
  }
  // Records in sft/metrics.jsonl must be SFT records and so on: a mismatch means files were mixed up.
  if (value.phase !== phase) throw new InputError(`expected phase "${phase}", got ${JSON.stringify(value.phase)}`, { file, line, field: "phase" });
  // The trainer's early-stopping note shares its step with that step's record: not a step record.
  if (value.early_stopped === true) {
    const best = value.best_step;
    if (best !== undefined && (typeof best !== "number" || !Number.isInteger(best))) throw new InputError("expected an integer step", { file, line, field: "best_step" });
    return { kind: "early_stop", step, line, bestStep: typeof best === "number" ? best : null };
  }
  const validity = validityCounts(value.validity, file, line);
  if ("validation" in value) {
    const metrics = numberMap(value.validation, { file, line, field: "validation" });
    if (value.best !== undefined && typeof value.best !== "boolean") throw new InputError("expected true or false", { file, line, field: "best" });
    return { kind: "validation", step, line, metrics, validity, best: value.best === true };
  }
  const values: Record<string, number | null> = {};
  for (const [k, x] of Object.entries(value)) {
    if (STRUCTURAL_KEYS.has(k)) continue;
    // Unknown keys are tolerated: numbers become plottable series, other types are ignored.
    if (typeof x === "number" || x === null) values[k] = x;
  }
  const nonFinite = value.non_finite;
  if (nonFinite !== undefined && !(Array.isArray(nonFinite) && nonFinite.every((k) => typeof k === "string"))) {
    throw new InputError("expected a list of key names", { file, line, field: "non_finite" });
  }
  return { kind: "step", step, line, values, validity, nonFinite: (nonFinite as string[] | undefined) ?? [] };
}

/**
 * Reads `<run>/<phase>/metrics.jsonl`, whose records name `logged` as their phase (the phase
 * itself, or a decoupled stage's name such as "selector-rl"). A line that is not JSON or not a
 * record is an InputError.
 */
export function readPhaseMetrics(file: string, phase: Phase, logged: string = phase): PhaseMetrics {
  const out: PhaseMetrics = { phase, file, steps: [], validations: [], warnings: [], earlyStop: null };
  for (const { line, value } of readJsonl(file)) {
    const r = parseMetricsRecord(value, logged, file, line);
    if (r.kind === "step") out.steps.push(r);
    else if (r.kind === "validation") out.validations.push(r);
    else if (r.kind === "early_stop") out.earlyStop = r;
    else out.warnings.push(r);
  }
  out.steps = inStepOrder(out.steps, file);
  out.validations = inStepOrder(out.validations, file);
  return out;
}

/**
 * Sorts records by step. The trainer truncates its log when it resumes, so a step logged twice
 * means the file was tampered with or concatenated: an error, not something to pick a side of.
 */
function inStepOrder<R extends { step: number; line: number; kind: string }>(records: R[], file: string): R[] {
  const seen = new Map<number, R>();
  for (const r of records) {
    const first = seen.get(r.step);
    if (first) throw new InputError(`${r.kind} record for step ${r.step} repeats the one on line ${first.line}`, { file, line: r.line });
    seen.set(r.step, r);
  }
  return [...records].sort((a, b) => a.step - b.step);
}

/**
 * Two phase logs as one, the second's steps numbered on from the first's last step (a decoupled
 * pipeline's selector RL then ranker RL: its RL steps in the order they ran). Samples-seen
 * counts are kept as logged (the stages count them over the whole pipeline).
 */
export function concatPhases(first: PhaseMetrics, second: PhaseMetrics): PhaseMetrics {
  const offset = Math.max(0, ...first.steps.map((s) => s.step), ...first.validations.map((v) => v.step));
  const shift = <R extends { step: number }>(r: R): R => ({ ...r, step: r.step + offset });
  return {
    phase: first.phase,
    file: `${first.file} + ${second.file}`,
    steps: [...first.steps, ...second.steps.map(shift)],
    validations: [...first.validations, ...second.validations.map(shift)],
    warnings: [...first.warnings, ...second.warnings.map(shift)],
    earlyStop: second.earlyStop === null ? first.earlyStop : { ...shift(second.earlyStop), bestStep: second.earlyStop.bestStep === null ? null : second.earlyStop.bestStep + offset },
  };
}
