// The table of a `fgrpo compare` result: per method and metric the mean with its 95% CI, and for
// methods other than the reference the paired difference to it with CI and p-value.
import type { ComparisonData } from "./inputs.js";
import { escapeHtml } from "./escape.js";
import { fmtDiff, fmtMetric, fmtPValue, fmtValue } from "./format.js";

/** The best mean of each metric (every metric here is higher-is-better: NDCG, recall). */
function bestMeans(data: ComparisonData): Map<string, number> {
  const best = new Map<string, number>();
  for (const metric of data.comparison.metrics) {
    const means = data.comparison.rows.map((r) => r.metrics[metric]?.mean).filter((m): m is number => typeof m === "number" && Number.isFinite(m));
    if (means.length > 0) best.set(metric, Math.max(...means));
  }
  return best;
}

export function comparisonTable(data: ComparisonData): string {
  const { comparison } = data;
  const best = bestMeans(data);
  const head = `<tr><th>method</th><th>runs</th>${comparison.metrics.map((m) => `<th data-metric="${escapeHtml(m)}">${escapeHtml(m)}</th>`).join("")}</tr>`;
  const body = comparison.rows
    .map((row) => {
      const isReference = row.method === comparison.reference;
      const cells = comparison.metrics.map((metric) => {
        const m = row.metrics[metric];
        // Formatted means are compared, so a tie to the displayed precision counts as best too.
        const isBest = m !== undefined && best.has(metric) && fmtMetric(m.mean) === fmtMetric(best.get(metric));
        const interval = m ? `<span class="mean">${fmtMetric(m.mean)}</span> <span class="ci">[${fmtMetric(m.ciLow)}, ${fmtMetric(m.ciHigh)}]</span>` : `<span class="mean">${fmtMetric(null)}</span>`;
        const d = isReference ? undefined : row.vsReference?.[metric];
        const significant = d && typeof d.pValue === "number" && d.pValue < 0.05;
        const diff = d ? `<div class="diff${significant ? " significant" : ""}">Δ ${fmtDiff(d.meanDiff)} [${fmtDiff(d.ciLow)}, ${fmtDiff(d.ciHigh)}]<br>${fmtPValue(d.pValue)}</div>` : "";
        return `<td data-metric="${escapeHtml(metric)}"${isBest ? ` class="best" data-best="true"` : ""}>${interval}${diff}</td>`;
      });
      const name = `${escapeHtml(row.method)}${isReference ? ` <span class="tag">reference</span>` : ""}`;
      return `<tr data-method="${escapeHtml(row.method)}"${isReference ? ` class="reference"` : ""}><th>${name}</th><td class="num">${row.runs.length}</td>${cells.join("")}</tr>`;
    })
    .join("");
  const facts = [
    comparison.split !== undefined ? `${escapeHtml(comparison.split)} split` : null,
    comparison.examples !== undefined ? `${comparison.examples} examples` : null,
    comparison.seeds !== undefined ? `seeds ${escapeHtml(comparison.seeds.join(", "))}` : null,
  ].filter((f) => f !== null);
  const reference = comparison.reference ? `Δ: paired difference to <b>${escapeHtml(comparison.reference)}</b> with its 95% CI and p-value (bold when p &lt; 0.05). ` : "";
  const note = `<p class="note">${facts.join(" · ")}${facts.length > 0 ? ". " : ""}Mean [95% CI]. ${reference}Highlighted: best mean in the column.</p>`;
  const runs = comparison.rows
    .map((row, i) => `<li><b>${escapeHtml(row.method)}</b>: ${data.runDirs[i]!.map((d) => `<code>${escapeHtml(fmtValue(d))}</code>`).join(", ") || "no runs"}</li>`)
    .join("");
  return [
    `<table class="comparison" data-table="comparison" data-source="${escapeHtml(data.file)}"><thead>${head}</thead><tbody>${body}</tbody></table>`,
    note,
    `<details class="runs"><summary>runs of each method</summary><ul>${runs}</ul></details>`,
  ].join("");
}
