// Sample efficiency: validation metrics against the samples a method has trained on, every
// method on one chart. RL methods are plotted against rollouts seen (prompts × generations ×
// steps), the unit their budgets are equal in; SFT trains on examples, a different unit, so in a
// comparison its final validation is a horizontal reference line (it is also where RL starts).
import type { ComparisonData, RunData } from "./inputs.js";
import type { PhaseMetrics } from "./metrics-file.js";
import type { BandPoint, ChartSpec, Point, Series } from "./svg-chart.js";
import { PALETTE } from "./style.js";

export const ROLLOUTS_AXIS = "RL rollouts seen (prompts × generations × steps)";
export const EXAMPLES_AXIS = "SFT examples seen (batch size × steps)";

/** A figure: one chart per validation metric, shown one at a time (the page offers a choice). */
export interface ChartFigure {
  id: string;
  title: string;
  charts: ChartSpec[];
  /** Sentences under the chart: what is left out and why. */
  notes: string[];
}

/** The preferred order of validation metrics; others follow alphabetically. */
export const VALIDATION_ORDER = ["ndcg@5", "recall@5", "slate_recall", "ndcg@1", "ndcg@3", "ndcg@10", "recall@3", "recall@10"];

export function orderMetrics(seen: Iterable<string>): string[] {
  const set = new Set(seen);
  return [...VALIDATION_ORDER.filter((m) => set.has(m)), ...[...set].filter((m) => !VALIDATION_ORDER.includes(m)).sort()];
}

export const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");

function configNumber(config: Record<string, unknown>, phase: "sft" | "rl", key: string): number | null {
  const v = (config[phase] as Record<string, unknown> | undefined)?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Samples seen by the end of `step` of a phase: as logged (`rollouts_seen`, `examples_seen`),
 * else, for logs written before those fields, from the config (every step has the same size).
 */
export function samplesSeen(run: RunData, phase: "sft" | "rl", step: number): number | null {
  const logged = loggedSamples(run[phase]).get(step);
  if (logged !== undefined) return logged;
  const perStep = phase === "rl" ? product(configNumber(run.config, "rl", "prompts_per_step"), configNumber(run.config, "rl", "num_generations")) : configNumber(run.config, "sft", "batch_size");
  return perStep === null ? null : step * perStep;
}

const samplesByStep = new WeakMap<PhaseMetrics, Map<number, number>>();

/** step → the samples-seen count its step record logged (indexed once per phase log). */
function loggedSamples(metrics: PhaseMetrics | null): Map<number, number> {
  if (metrics === null) return new Map();
  let m = samplesByStep.get(metrics);
  if (m === undefined) {
    const key = metrics.phase === "rl" ? "rollouts_seen" : "examples_seen";
    m = new Map(metrics.steps.flatMap((s) => (typeof s.values[key] === "number" ? [[s.step, s.values[key]] as [number, number]] : [])));
    samplesByStep.set(metrics, m);
  }
  return m;
}

const product = (a: number | null, b: number | null) => (a === null || b === null ? null : a * b);

/** A run's validation curve of one metric against samples seen; null when it has no such validation. */
export function validationCurve(run: RunData, phase: "sft" | "rl", metric: string): Point[] | null {
  const validations = (run[phase]?.validations ?? []).filter((v) => metric in v.metrics);
  if (validations.length === 0) return null;
  const points: Point[] = [];
  // RL's x = 0 is the SFT model it starts from (validated on the same split), when that is known.
  const start = phase === "rl" ? run.rlStart?.means[metric] : undefined;
  if (typeof start === "number" && !validations.some((v) => v.step === 0)) points.push({ x: 0, y: start });
  for (const v of validations) {
    const x = samplesSeen(run, phase, v.step);
    if (x !== null) points.push({ x, y: v.metrics[metric] ?? null });
  }
  return points;
}

const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

/** One method's line, and the runs (seeds) it summarises. */
interface Line {
  name: string;
  runs: RunData[];
}

function seedName(run: RunData): string {
  return typeof run.config.seed === "number" ? `seed ${run.config.seed}` : run.label;
}

/**
 * The series of one method: its line when it has one run; with several (seeds), the mean over
 * seeds at the sample counts every seed reached, a min–max band, and each seed's own line
 * (hidden at first; the legend shows it). Seeds that share no sample count keep their own lines.
 */
function lineSeries(line: Line, phase: "sft" | "rl", metric: string, color: string): { series: Series[]; note: string | null } {
  const curves = line.runs.map((run) => ({ run, points: validationCurve(run, phase, metric) })).filter((c): c is { run: RunData; points: Point[] } => c.points !== null);
  if (curves.length === 0) return { series: [], note: null };
  if (curves.length === 1) return { series: [{ name: line.name, points: curves[0]!.points, color }], note: null };
  const common = curves.map((c) => new Set(c.points.map((p) => p.x))).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
  const xs = [...common].sort((a, b) => a - b);
  const perSeed = (hidden: boolean): Series[] => curves.map((c) => ({ name: `${line.name} · ${seedName(c.run)}`, points: c.points, color, dash: "2 3", hidden }));
  if (xs.length === 0) return { series: perSeed(false), note: `${line.name}: its seeds validated at different sample counts, so each seed is drawn on its own` };
  const points: Point[] = [];
  const band: BandPoint[] = [];
  for (const x of xs) {
    const ys = curves.map((c) => c.points.find((p) => p.x === x)!.y);
    const ok = ys.every(finite);
    points.push({ x, y: ok ? ys.reduce((a, b) => a! + b!, 0)! / ys.length : null });
    band.push({ x, low: ok ? Math.min(...(ys as number[])) : null, high: ok ? Math.max(...(ys as number[])) : null });
  }
  return { series: [{ name: `${line.name} (mean of ${curves.length} seeds)`, points, band, color }, ...perSeed(true)], note: null };
}

/** SFT's final validation (mean over its runs) as a horizontal line across the chart. */
function sftReference(runs: RunData[], metric: string, xMax: number): Series | null {
  const values = runs.map((r) => r.results?.sft?.[metric]).filter(finite);
  if (values.length === 0) return null;
  const y = values.reduce((a, b) => a + b, 0) / values.length;
  const name = `sft: final validation${values.length > 1 ? ` (mean of ${values.length} seeds)` : ""}, where RL starts`;
  return { name, points: [{ x: 0, y }, { x: xMax, y }], color: "#6b6b6b", dash: "7 4" };
}

interface Source {
  id: string;
  title: string;
  lines: Line[];
  /** Runs of the SFT method of a comparison: drawn as the reference line. */
  sftRuns: RunData[];
  notes: string[];
}

function figureOf(source: Source): ChartFigure | null {
  const hasRl = source.lines.some((l) => l.runs.some((r) => (r.rl?.validations.length ?? 0) > 0));
  // Only SFT runs (no RL anywhere): SFT's own curves against examples seen.
  const phase: "sft" | "rl" = hasRl ? "rl" : "sft";
  const lines = hasRl ? source.lines : source.lines.length > 0 ? source.lines : source.sftRuns.length > 0 ? [{ name: "sft", runs: source.sftRuns }] : [];
  const seen = new Set<string>();
  for (const l of lines) for (const r of l.runs) for (const v of r[phase]?.validations ?? []) for (const k of Object.keys(v.metrics)) seen.add(k);
  const metrics = orderMetrics(seen);
  if (metrics.length === 0) return null;
  const notes = [...source.notes];
  const charts = metrics.map((metric): ChartSpec => {
    const series: Series[] = [];
    lines.forEach((line, i) => {
      const r = lineSeries(line, phase, metric, PALETTE[i % PALETTE.length]!);
      series.push(...r.series);
      if (r.note !== null && metric === metrics[0]) notes.push(r.note);
    });
    const xMax = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.x)));
    const reference = hasRl ? sftReference(source.sftRuns, metric, xMax) : null;
    if (reference !== null) series.push(reference);
    return { id: `${source.id}-${slug(metric)}`, title: `${source.title}: validation ${metric}`, xLabel: hasRl ? ROLLOUTS_AXIS : EXAMPLES_AXIS, yLabel: `validation ${metric}`, series };
  });
  return { id: source.id, title: source.title, charts, notes };
}

/**
 * One figure per comparison (its methods as lines, SFT as the reference), and one for the runs
 * given on their own (each run a line; a decoupled-rl pipeline is one line over both its RL
 * stages). Rows with no validation curve (classic baselines, SFT-only pipelines such as the
 * decoupled-sft) are named in a note rather than dropped silently.
 */
export function sampleEfficiencyFigures(runs: RunData[], comparisons: ComparisonData[]): ChartFigure[] {
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const inComparison = new Set<RunData>();
  const sources: Source[] = comparisons.map((c, i) => {
    const lines: Line[] = [];
    const sftRuns: RunData[] = [];
    const without: string[] = [];
    c.comparison.rows.forEach((row, r) => {
      const rowRuns = c.runDirs[r]!.map((d) => byDir.get(d)).filter((x): x is RunData => x !== undefined);
      rowRuns.forEach((x) => inComparison.add(x));
      if (row.method === "sft") sftRuns.push(...rowRuns);
      else if (rowRuns.some((x) => (x.rl?.validations.length ?? 0) > 0)) lines.push({ name: row.method, runs: rowRuns });
      else without.push(row.method);
    });
    const notes = without.length > 0 ? [`Not on this chart (no validation logged during training; their scores are in the comparison table): ${without.join(", ")}.`] : [];
    return { id: comparisons.length === 1 ? "sample-efficiency" : `sample-efficiency-${i + 1}`, title: c.comparison.title ?? `Comparison (${c.dir})`, lines, sftRuns, notes };
  });
  const own = runs.filter((r) => !inComparison.has(r) && (r.rl?.validations.length || r.sft?.validations.length));
  if (own.length > 0) {
    const id = sources.length === 0 ? "sample-efficiency" : "sample-efficiency-runs";
    const withRl = own.filter((r) => (r.rl?.validations.length ?? 0) > 0);
    // Runs with RL are plotted against rollouts; SFT-only runs only when no run has RL.
    const lines = (withRl.length > 0 ? withRl : own).map((r) => ({ name: r.label, runs: [r] }));
    const notes = withRl.length > 0 && withRl.length < own.length ? [`Runs without RL validation are not on this chart: ${own.filter((r) => !withRl.includes(r)).map((r) => r.label).join(", ")}.`] : [];
    sources.push({ id, title: sources.length === 0 ? "Runs" : "Runs given on their own", lines, sftRuns: [], notes });
  }
  return sources.map(figureOf).filter((f): f is ChartFigure => f !== null);
}
