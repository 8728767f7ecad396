// Turns loaded runs into chart specifications: which quantities each chart overlays, per run.
import type { RunData } from "./inputs.js";
import type { PhaseMetrics, StepRecord, ValidityCounts } from "./metrics-file.js";
import type { BandPoint, ChartSpec, Point, Series } from "./svg-chart.js";
import { PALETTE, seriesStyle, VALIDITY_COLORS } from "./style.js";
import { orderMetrics } from "./sample-efficiency.js";

/** A quantity plotted from step records: a key, a legend label, optionally a std key for a band. */
interface Quantity {
  key: string;
  label: string;
  stdKey?: string;
}

interface StepChart {
  id: string;
  title: string;
  yLabel: string;
  quantities: Quantity[];
  yMin?: number;
  yMax?: number;
}

function hasKey(phase: PhaseMetrics | null, key: string): boolean {
  return phase !== null && phase.steps.some((r) => key in r.values);
}

function stepPoints(steps: StepRecord[], key: string): Point[] {
  return steps.map((r) => ({ x: r.step, y: r.values[key] ?? null }));
}

function stepBand(steps: StepRecord[], key: string, stdKey: string): BandPoint[] {
  return steps.map((r) => {
    const mean = r.values[key];
    const std = r.values[stdKey];
    const ok = typeof mean === "number" && typeof std === "number";
    return { x: r.step, low: ok ? mean - std : null, high: ok ? mean + std : null };
  });
}

function seriesName(run: RunData, runs: number, quantity: string, quantities: number): string {
  if (runs === 1) return quantity;
  return quantities === 1 ? run.label : `${run.label} · ${quantity}`;
}

/**
 * One chart overlaying `quantities` of one phase for every run that logged them; null when no run
 * logged any (the chart would say nothing). Quantities no run has are left out of the legend.
 */
function stepChart(runs: RunData[], phase: "sft" | "rl", chart: StepChart): ChartSpec | null {
  const quantities = chart.quantities.filter((q) => runs.some((r) => hasKey(r[phase], q.key)));
  if (quantities.length === 0) return null;
  const series: Series[] = [];
  runs.forEach((run, i) => {
    const metrics = run[phase];
    if (metrics === null) return;
    quantities.forEach((q, v) => {
      if (!hasKey(metrics, q.key)) return;
      const s: Series = { name: seriesName(run, runs.length, q.label, quantities.length), points: stepPoints(metrics.steps, q.key), ...seriesStyle(i, runs.length, v) };
      if (q.stdKey !== undefined && hasKey(metrics, q.stdKey)) s.band = stepBand(metrics.steps, q.key, q.stdKey);
      series.push(s);
    });
  });
  const spec: ChartSpec = { id: chart.id, title: chart.title, xLabel: `${phase.toUpperCase()} step`, yLabel: chart.yLabel, series };
  if (chart.yMin !== undefined) spec.yMin = chart.yMin;
  if (chart.yMax !== undefined) spec.yMax = chart.yMax;
  return spec;
}

const present = (specs: (ChartSpec | null)[]): ChartSpec[] => specs.filter((s): s is ChartSpec => s !== null);

export function sftCharts(runs: RunData[]): ChartSpec[] {
  return present([
    stepChart(runs, "sft", { id: "sft-loss", title: "SFT loss", yLabel: "loss", quantities: [{ key: "loss", label: "loss" }] }),
    stepChart(runs, "sft", { id: "sft-token-accuracy", title: "SFT token accuracy", yLabel: "accuracy", quantities: [{ key: "token_accuracy", label: "token accuracy" }] }),
  ]);
}

export function rewardCharts(runs: RunData[]): ChartSpec[] {
  return present([
    stepChart(runs, "rl", { id: "rl-reward-gen", title: "Generation reward R_gen (mean ± std over rollouts)", yLabel: "R_gen", quantities: [{ key: "reward_gen_mean", label: "R_gen", stdKey: "reward_gen_std" }] }),
    stepChart(runs, "rl", { id: "rl-reward-rank", title: "Ranking reward R_rank (mean ± std over rollouts)", yLabel: "R_rank", quantities: [{ key: "reward_rank_mean", label: "R_rank", stdKey: "reward_rank_std" }] }),
    stepChart(runs, "rl", { id: "rl-reward-joint", title: "Joint reward (mean)", yLabel: "reward", quantities: [{ key: "reward_joint_mean", label: "joint" }] }),
  ]);
}

export function advantageCharts(runs: RunData[]): ChartSpec[] {
  const phases = ["gen", "rank", "joint"];
  return present([
    stepChart(runs, "rl", { id: "rl-adv-std", title: "Advantage std per phase", yLabel: "std", quantities: phases.map((p) => ({ key: `adv_${p}_std`, label: p })) }),
    stepChart(runs, "rl", {
      id: "rl-zero-var",
      title: "Fraction of groups with zero reward variance (no learning signal)",
      yLabel: "fraction of groups",
      quantities: phases.map((p) => ({ key: `zero_var_frac_${p}`, label: p })),
      yMin: 0,
      yMax: 1,
    }),
  ]);
}

/** Clip fractions: F-GRPO logs them per phase, GRPO/GSPO once; whichever keys a run has. */
const CLIP_KEYS = ["clip_low_gen", "clip_high_gen", "clip_low_rank", "clip_high_rank", "clip_low", "clip_high"];

export function stabilityCharts(runs: RunData[]): ChartSpec[] {
  return present([
    stepChart(runs, "rl", { id: "rl-kl", title: "KL to the reference policy", yLabel: "KL", quantities: [{ key: "kl", label: "KL" }] }),
    stepChart(runs, "rl", { id: "rl-clip", title: "Clipped fraction (ratio below 1−ε / above 1+ε_high)", yLabel: "fraction", quantities: CLIP_KEYS.map((k) => ({ key: k, label: k.replace(/^clip_/, "") })) }),
    stepChart(runs, "rl", { id: "rl-entropy", title: "Mean token entropy of the rollouts", yLabel: "nats", quantities: [{ key: "entropy", label: "entropy" }] }),
    stepChart(runs, "rl", { id: "rl-loss", title: "RL loss", yLabel: "loss", quantities: [{ key: "loss", label: "loss" }] }),
    // Gaps in this line are updates skipped for a non-finite gradient (logged as null).
    stepChart(runs, "rl", { id: "rl-grad-norm", title: "Gradient norm (gaps: skipped updates)", yLabel: "norm", quantities: [{ key: "grad_norm", label: "grad norm" }] }),
  ]);
}

export function timingCharts(runs: RunData[]): ChartSpec[] {
  return present([
    stepChart(runs, "rl", {
      id: "rl-timing",
      title: "Time per RL step: generation vs scoring vs update",
      yLabel: "ms",
      quantities: [
        { key: "ms_generation", label: "generation" },
        { key: "ms_scoring", label: "scoring" },
        { key: "ms_update", label: "update" },
      ],
    }),
    stepChart(runs, "rl", { id: "rl-throughput", title: "Rollout throughput", yLabel: "tokens / s", quantities: [{ key: "rollout_tokens_per_s", label: "tokens/s" }] }),
  ]);
}

const VALIDITY_ORDER = Object.keys(VALIDITY_COLORS);

/** Validity categories seen in any record, the known ones in taxonomy order first. */
function validityCategories(records: { validity: ValidityCounts | null }[]): string[] {
  const seen = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.validity ?? {})) seen.add(k);
  return [...VALIDITY_ORDER.filter((k) => seen.has(k)), ...[...seen].filter((k) => !VALIDITY_ORDER.includes(k)).sort()];
}

function fraction(validity: ValidityCounts | null, category: string): number | null {
  if (validity === null) return null;
  const total = Object.values(validity).reduce((a, b) => a + b, 0);
  return total === 0 ? null : (validity[category] ?? 0) / total;
}

/**
 * The validity taxonomy of the RL rollouts: the invalid share of every run overlaid, then one
 * chart per run splitting it by failure category. "ok" is left out of the per-run charts: near
 * 1, it would squeeze the failures (the interesting part) into a sliver at the bottom.
 */
export function validityCharts(runs: RunData[]): ChartSpec[] {
  const withValidity = runs.filter((r) => r.rl !== null && r.rl.steps.some((s) => s.validity !== null));
  if (withValidity.length === 0) return [];
  const invalid = (v: ValidityCounts | null) => {
    const ok = fraction(v, "ok");
    return ok === null ? null : 1 - ok;
  };
  const overlay: Series[] = [];
  runs.forEach((run, i) => {
    if (!withValidity.includes(run)) return;
    overlay.push({ name: runs.length === 1 ? "not ok" : run.label, points: run.rl!.steps.map((s) => ({ x: s.step, y: invalid(s.validity) })), ...seriesStyle(i, runs.length, 0) });
  });
  const charts: ChartSpec[] = [{ id: "rl-invalid", title: "Invalid rollouts (share not ok)", xLabel: "RL step", yLabel: "fraction of rollouts", series: overlay, yMin: 0 }];
  runs.forEach((run, i) => {
    if (!withValidity.includes(run)) return;
    const steps = run.rl!.steps;
    const categories = validityCategories(steps).filter((c) => c !== "ok");
    if (categories.length === 0) return;
    charts.push({
      id: `rl-validity-${i + 1}`,
      title: `Invalid rollouts by failure category${runs.length === 1 ? "" : `: ${run.label}`}`,
      xLabel: "RL step",
      yLabel: "fraction of rollouts",
      yMin: 0,
      series: categories.map((c, v) => ({ name: c, points: steps.map((s) => ({ x: s.step, y: fraction(s.validity, c) })), color: VALIDITY_COLORS[c] ?? PALETTE[v % PALETTE.length]! })),
    });
  });
  return charts;
}

/** The x offset of a run's RL steps on the combined SFT-then-RL axis: its last SFT step. */
function rlOffset(run: RunData): number {
  if (run.sft === null) return 0;
  return Math.max(0, ...run.sft.steps.map((s) => s.step), ...run.sft.validations.map((v) => v.step));
}

/** Validation metrics over training, SFT then RL on one axis, one chart per metric. */
export function validationCharts(runs: RunData[]): ChartSpec[] {
  const seen = new Set<string>();
  for (const run of runs) for (const p of [run.sft, run.rl]) for (const v of p?.validations ?? []) for (const k of Object.keys(v.metrics)) seen.add(k);
  const metrics = orderMetrics(seen);
  const offsets = new Map(runs.map((r) => [r, rlOffset(r)]));
  const boundaries = [...new Set(runs.filter((r) => r.sft !== null && r.rl !== null).map((r) => offsets.get(r)!))].filter((x) => x > 0);
  const markers = boundaries.map((x) => ({ x, label: boundaries.length === 1 ? "SFT → RL" : `RL from ${x}` }));
  return metrics.map((metric) => ({
    id: `validation-${metric.replace(/[^A-Za-z0-9]+/g, "-")}`,
    title: `Validation ${metric}`,
    xLabel: "step (SFT, then RL)",
    yLabel: metric,
    markers,
    series: runs.flatMap((run, i) => {
      const points: Point[] = [];
      for (const v of run.sft?.validations ?? []) if (metric in v.metrics) points.push({ x: v.step, y: v.metrics[metric] ?? null });
      for (const v of run.rl?.validations ?? []) if (metric in v.metrics) points.push({ x: offsets.get(run)! + v.step, y: v.metrics[metric] ?? null });
      return points.length === 0 ? [] : [{ name: runs.length === 1 ? metric : run.label, points, ...seriesStyle(i, runs.length, 0) }];
    }),
  }));
}
