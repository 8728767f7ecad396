// `fgrpo report`: loads run and comparison directories and renders the HTML report.
import { resolve } from "node:path";
import { advantageCharts, rewardCharts, sftCharts, stabilityCharts, timingCharts, validationCharts, validityCharts } from "./charts.js";
import { comparisonTable } from "./comparison-table.js";
import { loadInput, loadRun, type ComparisonData, type RunData } from "./inputs.js";
import { renderPage, type Section } from "./page.js";
import { overviewTable, resultsTable, warningsList } from "./run-tables.js";
import { ROLLOUTS_AXIS, sampleEfficiencyFigures, type ChartFigure } from "./sample-efficiency.js";
import type { ChartSpec } from "./svg-chart.js";
import { DATA_ELEMENT_ID } from "./interactive-chart.js";

export interface ReportInputs {
  runs: RunData[];
  comparisons: ComparisonData[];
}

/**
 * Loads every directory: runs directly, comparisons with the runs their rows name. A run given
 * twice (directly and through a comparison) is shown once.
 */
export function loadReportInputs(dirs: string[]): ReportInputs {
  const runs = new Map<string, RunData>();
  const comparisons: ComparisonData[] = [];
  for (const dir of dirs) {
    const input = loadInput(dir);
    if (input.kind === "run") {
      if (!runs.has(resolve(dir))) runs.set(resolve(dir), input);
      continue;
    }
    comparisons.push(input);
    for (const runDir of input.runDirs.flat()) if (!runs.has(resolve(runDir))) runs.set(resolve(runDir), loadRun(runDir));
  }
  const list = [...runs.values()];
  assignUniqueLabels(list);
  return { runs: list, comparisons };
}

/**
 * Runs are labelled by config.name; several runs of one config differ by seed, and failing that
 * by directory, so every chart legend entry names exactly one run.
 */
export function assignUniqueLabels(runs: RunData[]): void {
  const count = (labels: string[], l: string) => labels.filter((x) => x === l).length;
  let labels = runs.map((r) => r.label);
  labels = labels.map((l, i) => (count(labels, l) > 1 && typeof runs[i]!.config.seed === "number" ? `${l} (seed ${runs[i]!.config.seed})` : l));
  labels = labels.map((l, i) => (count(labels, l) > 1 ? runs[i]!.dir : l));
  runs.forEach((r, i) => (r.label = labels[i]!));
}

/** Charts of one quantity each (a metric) as one figure with a menu; none when there are none. */
function oneFigure(id: string, charts: ChartSpec[]): ChartFigure[] {
  return charts.length === 0 ? [] : [{ id, title: charts[0]!.title, charts, notes: [] }];
}

function sections(inputs: ReportInputs): Section[] {
  const { runs, comparisons } = inputs;
  const out: Section[] = [];
  for (const [i, c] of comparisons.entries()) {
    out.push({
      id: comparisons.length === 1 ? "comparison" : `comparison-${i + 1}`,
      title: c.comparison.title ?? `Comparison (${c.dir})`,
      html: [comparisonTable(c)],
    });
  }
  out.push({
    id: "sample-efficiency",
    title: "Sample efficiency",
    intro:
      `Validation metrics against the samples each method trained on (pick the metric above the chart): RL methods against ${ROLLOUTS_AXIS}; x = 0 is the SFT model RL starts from, where known. ` +
      "With several seeds, the line is their mean and the band spans their min to max; each seed's own line can be switched on in the legend. " +
      "In a comparison, SFT is a dashed horizontal line at its final validation (it trains on examples, not rollouts). Hover for values; click a legend entry to hide or show it.",
    figures: sampleEfficiencyFigures(runs, comparisons),
    empty: "No validation records in these runs.",
  });
  const overview = [overviewTable(runs), resultsTable(runs), warningsList(runs)].filter((h): h is string => h !== null);
  out.push({ id: "overview", title: "Runs", intro: "Configuration of each run, how far its logs go, and its final validation results (results.json).", html: overview });
  out.push({
    id: "rewards",
    title: "RL rewards",
    intro: "Mean reward of the rollouts per RL step; the shaded band is ± one standard deviation over the step's rollouts.",
    charts: rewardCharts(runs),
    empty: "No RL metrics in these runs.",
  });
  out.push({
    id: "advantages",
    title: "Advantages and learning signal",
    intro: "Advantage spread per phase, and the share of groups whose rollouts all got the same reward (their advantage is zero: no gradient).",
    charts: advantageCharts(runs),
    empty: "No RL metrics in these runs.",
  });
  out.push({
    id: "validation",
    title: "Validation metrics",
    intro: "Periodic validation of the policy by training step: SFT steps first, then RL steps continuing on the same axis (pick the metric above the chart).",
    figures: oneFigure("validation-metrics", validationCharts(runs)),
    empty: "No validation records in these runs.",
  });
  out.push({
    id: "validity",
    title: "Rollout validity",
    intro: "How each RL step's rollouts were classified (ok, or the first failure found): the share that was not ok, then that share by failure category.",     charts: validityCharts(runs),
    empty: "No validity counts in these runs' RL logs.",
  });
  out.push({ id: "stability", title: "KL, clipping and entropy", charts: stabilityCharts(runs), empty: "No RL metrics in these runs." });
  out.push({ id: "timing", title: "Timings", intro: "Wall-clock milliseconds per RL step spent generating rollouts, scoring them, and updating the model.", charts: timingCharts(runs), empty: "No timings in these runs." });
  out.push({ id: "sft", title: "SFT", charts: sftCharts(runs), empty: "No SFT metrics in these runs." });
  return out;
}

/** Renders the report page for loaded inputs. */
export function renderReport(inputs: ReportInputs, title = "fgrpo report"): string {
  const n = inputs.runs.length;
  const subtitle = `${n} run${n === 1 ? "" : "s"}${inputs.comparisons.length > 0 ? `, ${inputs.comparisons.length} comparison${inputs.comparisons.length === 1 ? "" : "s"}` : ""}: ${inputs.runs.map((r) => r.label).join(", ")}`;
  return renderPage(title, subtitle, sections(inputs));
}

/** The chart ids in a rendered report's data block (for the CLI's summary line). */
export function chartIds(html: string): string[] {
  const block = html.match(new RegExp(`<script type="application/json" id="${DATA_ELEMENT_ID}">([\\s\\S]*?)</script>`));
  if (!block) return [];
  return (JSON.parse(block[1]!) as { charts: { id: string }[] }).charts.map((c) => c.id);
}
