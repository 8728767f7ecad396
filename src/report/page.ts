// Assembles the report page: one self-contained HTML file with inline CSS and inline SVG, no
// scripts and no external resources, so it opens offline and can be mailed or archived as is.
import { escapeHtml } from "./escape.js";
import { renderLineChart, type ChartSpec } from "./svg-chart.js";

export interface Section {
  id: string;
  title: string;
  /** A sentence on what the section shows and how to read it. */
  intro?: string;
  /** Ready HTML (tables, notes). */
  html?: string[];
  charts?: ChartSpec[];
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
figure { margin: 0; background: #fff; border: 1px solid var(--rule); border-radius: 6px; padding: 10px 10px 4px; }
figcaption { font-weight: 600; margin: 0 0 4px 4px; }
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

function renderSection(s: Section): string {
  const parts = [`<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>`];
  if (s.intro) parts.push(`<p class="intro">${escapeHtml(s.intro)}</p>`);
  for (const h of s.html ?? []) parts.push(h.startsWith("<table") ? `<div class="table-wrap">${h}</div>` : h);
  if (s.charts && s.charts.length > 0) {
    parts.push(`<div class="grid">`);
    for (const c of s.charts) parts.push(`<figure><figcaption>${escapeHtml(c.title)}</figcaption>${renderLineChart(c)}</figure>`);
    parts.push(`</div>`);
  }
  if ((s.html ?? []).length === 0 && (s.charts ?? []).length === 0) parts.push(`<p class="empty-section">${escapeHtml(s.empty ?? "Nothing to show.")}</p>`);
  parts.push(`</section>`);
  return parts.join("\n");
}

export function renderPage(title: string, subtitle: string, sections: Section[]): string {
  const nav = sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join("");
  return [
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    `</head><body>`,
    `<header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p><nav>${nav}</nav></header>`,
    `<main>`,
    ...sections.map(renderSection),
    `</main></body></html>`,
    ``,
  ].join("\n");
}
