/** Plain-text tables for command output. */
import type { EvalSummary } from "../eval/metrics.js";

export function fmt(x: number): string {
  return x.toFixed(4);
}

/** Left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n");
}

/** metric | mean | 95% CI, one row per metric. */
export function metricTable(summary: EvalSummary, metrics: readonly string[]): string {
  const rows = [["metric", "mean", "95% CI"]];
  for (const m of metrics) {
    const s = summary.metrics[m]!;
    rows.push([m, fmt(s.mean), `[${fmt(s.ciLow)}, ${fmt(s.ciHigh)}]`]);
  }
  return table(rows);
}
