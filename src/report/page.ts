// Assembles the report page: one self-contained HTML file with inline CSS, the chart library and
// the charts' data inline, and no external resources, so it opens offline and can be mailed or
// archived as is. The validation figures' static SVGs sit in <noscript> for readers without JavaScript.
import { escapeHtml } from "./escape.js";
import { renderLineChart, type ChartSpec } from "./svg-chart.js";
import { chartLibrary, chartScripts } from "./interactive-chart.js";
import type { ChartFigure } from "./sample-efficiency.js";

export interface Section {
  id: string;
  title: string;
  /** A sentence on what the section shows and how to read it. */
  intro?: string;
  /** Ready HTML (tables, notes). */
  html?: string[];
  charts?: ChartSpec[];
  /** Full-width figures whose charts are alternatives (one per metric), chosen with a menu. */
  figures?: ChartFigure[];
  /** Shown when the section has neither HTML nor charts. */
  empty?: string;
}

const CSS = `
:root { color-scheme: light; --ink: #1d2329; --muted: #5b6670; --rule: #d9dee3; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header { padding: 20px 32px 12px; background: #fff; border-bottom: 1px solid var(--rule); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
nav { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--accent); text-decoration: none; }
main { padding: 8px 32px 40px; }
section { margin-top: 22px; }
h2 { font-size: 18px; margin: 0 0 4px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
.intro, .note, .empty-section { color: var(--muted); margin: 4px 0 10px; max-width: 70em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid var(--rule); border-radius: 6px; padding: 10px 10px 4px; min-width: 0; }
figure.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; margin: 0 0 4px 4px; display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; }
figcaption label { font-weight: 400; color: var(--muted); }
.chart-host { min-height: 40px; }
.chart-host .u-legend { font-size: 12px; text-align: left; }
.chart-host .u-legend .u-series { cursor: pointer; }
figure .note { margin: 4px; font-size: 12px; }
figure noscript svg.chart { max-width: 760px; }
footer { padding: 0 32px 30px; color: var(--muted); font-size: 12px; }
footer pre { white-space: pre-wrap; max-width: 80em; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; }
svg.chart .grid line { stroke: #eceff2; }
svg.chart .tick { fill: var(--muted); font-size: 11px; }
svg.chart .axis { stroke: #8a949c; fill: none; }
svg.chart .axis-title { fill: var(--muted); }
svg.chart .line { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .band { fill-opacity: 0.14; stroke: none; }
svg.chart .marker { stroke: #8a949c; stroke-dasharray: 4 3; }
svg.chart .marker-label { fill: var(--muted); font-size: 11px; }
svg.chart .legend line { stroke-width: 2.5; }
svg.chart .legend text { fill: var(--ink); }
svg.chart .empty { fill: var(--muted); }
.table-wrap { overflow-x: auto; background: #fff; border: 1px solid var(--rule); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceff2; text-align: left; vertical-align: top; white-space: nowrap; }
thead th { background: #f0f2f5; font-weight: 600; }
td.num, table.comparison td, table.results td { font-variant-numeric: tabular-nums; }
table.comparison td.best { background: #e3f4ec; }
table.comparison td.best .mean { font-weight: 700; }
table.comparison .ci, table.comparison .diff { color: var(--muted); font-size: 12px; }
table.comparison .diff.significant { color: var(--ink); font-weight: 600; }
table.comparison tr.reference th { color: var(--accent); }
.tag { font-size: 11px; font-weight: 500; color: #fff; background: var(--accent); border-radius: 3px; padding: 0 4px; }
.table-wrap + .table-wrap { margin-top: 14px; }
caption { text-align: left; font-weight: 600; padding: 6px 10px; }
details { margin: 8px 0; }
code { font-size: 12px; }
`;

/**
 * A figure: a host the page's script draws the chart into, and what readers without JavaScript
 * get instead. The static SVG fallback is kept for the validation figures only (a few points per
 * run); for per-step charts it would double the file (about 2 MB of 4 for ten 1,500-step runs).
 */
function renderFigure(f: ChartFigure, wide: boolean, fallback: boolean): string {
  const first = f.charts[0]!;
  const select =
    f.charts.length > 1
      ? `<label>metric <select data-chart-select>${f.charts.map((c) => `<option value="${escapeHtml(c.id)}">${escapeHtml(c.yLabel)}</option>`).join("")}</select></label>`
      : "";
  const notes = f.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("");
  return [
    `<figure${wide ? ` class="wide"` : ""} data-figure="${escapeHtml(f.id)}">`,
    `<figcaption><span class="caption-text">${escapeHtml(first.title)}</span>${select}</figcaption>`,
    `<div class="chart-host" data-chart-host="${escapeHtml(first.id)}"></div>`,
    `<noscript>${fallback ? f.charts.map(renderLineChart).join("") : `<p class="note">This chart needs JavaScript.</p>`}</noscript>${notes}</figure>`,
  ].join("");
}

const single = (c: ChartSpec): ChartFigure => ({ id: c.id, title: c.title, charts: [c], notes: [] });

function renderSection(s: Section): string {
  const parts = [`<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`];
  if (s.intro) parts.push(`<p class="intro">${escapeHtml(s.intro)}</p>`);
  for (const h of s.html ?? []) parts.push(h.startsWith("<table") ? `<div class="table-wrap">${h}</div>` : h);
  const figures = [...(s.figures ?? []).map((f) => renderFigure(f, true, true)), ...(s.charts ?? []).map((c) => renderFigure(single(c), false, false))];
  if (figures.length > 0) parts.push(`<div class="grid">`, ...figures, `</div>`);
  if ((s.html ?? []).length === 0 && figures.length === 0) parts.push(`<p class="empty-section">${escapeHtml(s.empty ?? "Nothing to show.")}</p>`);
  parts.push(`</section>`);
  return parts.join("\n");
}

/** Every chart of the page, in page order. */
function pageCharts(sections: Section[]): ChartSpec[] {
  return sections.flatMap((s) => [...(s.figures ?? []).flatMap((f) => f.charts), ...(s.charts ?? [])]);
}

/** Credits the inlined chart library, with its licence text (MIT asks for the notice). */
function footer(): string {
  const lib = chartLibrary();
  return `<footer><p>Charts drawn with ${escapeHtml(lib.name)} ${escapeHtml(lib.version)} (${escapeHtml(lib.license)} licence), included in this file.</p><details><summary>${escapeHtml(lib.name)} licence</summary><pre>${escapeHtml(lib.licenseText)}</pre></details></footer>`;
}

export function renderPage(title: string, subtitle: string, sections: Section[]): string {
  const nav = sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join("");
  return [
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${chartLibrary().css}\n${CSS}</style>`,
    // Without JavaScript the metric menus do nothing (every metric's SVG is shown instead).
    `<noscript><style>figcaption label { display: none; }</style></noscript>`,
    `</head><body>`,
    `<header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p><nav>${nav}</nav></header>`,
    `<main>`,
    ...sections.map(renderSection),
    `</main>`,
    footer(),
    chartScripts(pageCharts(sections)),
    `</body></html>`,
    ``,
  ].join("\n");
}
