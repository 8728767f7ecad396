// A small inline-SVG line chart: axes with "nice" ticks, any number of series, gaps where a value
// is missing, optional shaded bands (mean ± std), vertical markers and a legend. The report's
// charts are drawn by uPlot (interactive-chart.ts); this static SVG is their fallback for readers
// without JavaScript (a mail client, a locked-down viewer).
import { escapeHtml } from "./escape.js";

export interface Point {
  x: number;
  /** null (or a non-finite number) leaves a gap in the line. */
  y: number | null;
}

export interface BandPoint {
  x: number;
  low: number | null;
  high: number | null;
}

export interface Series {
  /** Shown in the legend and written to `data-series` for tests and tooltips. */
  name: string;
  points: Point[];
  color: string;
  /** An SVG stroke-dasharray, to tell apart series that share a colour. */
  dash?: string;
  band?: BandPoint[];
  /** Drawn only on request (the interactive chart's legend turns it on; the SVG leaves it out). */
  hidden?: boolean;
}

export interface ChartSpec {
  /** Written to `data-chart`. */
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y-axis bounds (e.g. 0 and 1 for fractions); otherwise fitted to the data. */
  yMin?: number;
  yMax?: number;
  /** Vertical dashed lines, e.g. where SFT ends and RL starts. */
  markers?: { x: number; label: string }[];
}

const WIDTH = 640;
const PLOT_HEIGHT = 240;
const MARGIN = { left: 62, right: 18, top: 16 };
const AXIS_SPACE = 42; // below the plot: tick labels and the x-axis title
const LEGEND_ROW = 18;
const CHAR_WIDTH = 6.6; // approximate width of a 12px sans-serif character, for legend layout

/** Maps a domain linearly onto a range; a zero-width domain maps to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/** Round tick values (1, 2 or 5 × 10^k apart) covering [min, max] with about `count` intervals. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || max < min) throw new RangeError(`bad tick range [${min}, ${max}]`);
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // The tolerance keeps float noise (0.1 / 5 = 0.020000000000000004) from skipping to the next step.
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9))!;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying integers by the step (rather than accumulating) avoids drift like 0.30000000000000004.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Formats a tick label with as many decimals as the tick spacing needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e6 || (abs < 1e-3 && step < 1e-3)) return v.toExponential(step > 0 ? Math.max(0, Math.min(3, Math.round(Math.log10(abs / step)))) : 1);
  if (abs >= 1e4 && step >= 1000) return `${Number((v / 1000).toPrecision(6))}k`;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

/** Splits points into runs of consecutive finite values: the pieces of a line with gaps. */
export function segments(points: Point[]): { x: number; y: number }[][] {
  const out: { x: number; y: number }[][] = [];
  let current: { x: number; y: number }[] = [];
  for (const p of points) {
    if (finite(p.y) && finite(p.x)) current.push({ x: p.x, y: p.y });
    else if (current.length > 0) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * SVG path data for a line with gaps: each segment starts with M. A lone point between gaps is
 * drawn as a zero-length line, which the round line cap turns into a dot.
 */
export function linePath(points: Point[], sx: (v: number) => number, sy: (v: number) => number): string {
  return segments(points)
    .map((seg) => {
      const coords = seg.map((p) => `${r1(sx(p.x))},${r1(sy(p.y))}`);
      return seg.length === 1 ? `M${coords[0]}l0,0` : `M${coords.join("L")}`;
    })
    .join("");
}

/** Closed outlines of a band (upper edge forward, lower edge back), one per run without gaps. */
export function bandPath(band: BandPoint[], sx: (v: number) => number, sy: (v: number) => number): string {
  const runs: BandPoint[][] = [];
  let current: BandPoint[] = [];
  for (const b of band) {
    if (finite(b.low) && finite(b.high)) current.push(b);
    else if (current.length > 0) {
      runs.push(current);
      current = [];
    }
  }
  if (current.length > 0) runs.push(current);
  return runs
    .filter((run) => run.length > 1)
    .map((run) => {
      const upper = run.map((b) => `${r1(sx(b.x))},${r1(sy(b.high!))}`);
      const lower = [...run].reverse().map((b) => `${r1(sx(b.x))},${r1(sy(b.low!))}`);
      return `M${upper.join("L")}L${lower.join("L")}Z`;
    })
    .join("");
}

/** The data extent of a chart, or null when it has no finite value at all. */
export function dataExtent(spec: ChartSpec): { x: [number, number]; y: [number, number] } | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of spec.series) {
    for (const p of s.points) {
      if (!finite(p.y) || !finite(p.x)) continue;
      xs.push(p.x);
      ys.push(p.y);
    }
    for (const b of s.band ?? []) {
      if (finite(b.low)) ys.push(b.low);
      if (finite(b.high)) ys.push(b.high);
    }
  }
  if (xs.length === 0) return null;
  return { x: [Math.min(...xs), Math.max(...xs)], y: [Math.min(...ys), Math.max(...ys)] };
}

interface LegendItem {
  series: Series;
  x: number;
  row: number;
}

function layoutLegend(series: Series[]): { items: LegendItem[]; rows: number } {
  const items: LegendItem[] = [];
  let x = MARGIN.left;
  let row = 0;
  for (const s of series) {
    const width = 26 + s.name.length * CHAR_WIDTH + 14;
    if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
      row += 1;
      x = MARGIN.left;
    }
    items.push({ series: s, x, row });
    x += width;
  }
  return { items, rows: series.length === 0 ? 0 : row + 1 };
}

/** Renders the chart as an `<svg data-chart="id">` element with one `<path data-series>` per series. */
export function renderLineChart(spec: ChartSpec): string {
  spec = { ...spec, series: spec.series.filter((s) => !s.hidden) };
  const extent = dataExtent(spec);
  const legend = layoutLegend(spec.series);
  const height = MARGIN.top + PLOT_HEIGHT + AXIS_SPACE + legend.rows * LEGEND_ROW + 6;
  const open = `<svg class="chart" data-chart="${escapeHtml(spec.id)}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(spec.title)}">`;
  if (extent === null) {
    return `${open}<text x="${WIDTH / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text></svg>`;
  }
  const plot = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: MARGIN.top, bottom: MARGIN.top + PLOT_HEIGHT };
  const yTicks = niceTicks(spec.yMin ?? extent.y[0], spec.yMax ?? extent.y[1], 5);
  const yDomain: [number, number] = [spec.yMin ?? yTicks[0]!, spec.yMax ?? yTicks[yTicks.length - 1]!];
  const xTicks = niceTicks(extent.x[0], extent.x[1], 6).filter((t) => t >= extent.x[0] && t <= extent.x[1]);
  const sx = linearScale(extent.x, [plot.left, plot.right]);
  const sy = linearScale(yDomain, [plot.bottom, plot.top]);
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const parts: string[] = [open];

  // Grid and axes.
  parts.push(`<g class="grid">`);
  for (const t of yTicks.filter((t) => t >= yDomain[0] && t <= yDomain[1])) {
    const y = r1(sy(t));
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text class="tick" x="${plot.left - 6}" y="${y + 4}" text-anchor="end">${escapeHtml(formatTick(t, yStep))}</text>`);
  }
  for (const t of xTicks) {
    const x = r1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${plot.top}" y2="${plot.bottom}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${plot.bottom + 16}" text-anchor="middle">${escapeHtml(formatTick(t, xStep))}</text>`);
  }
  parts.push(`</g>`);
  parts.push(`<path class="axis" d="M${plot.left},${plot.top}V${plot.bottom}H${plot.right}"/>`);
  parts.push(`<text class="axis-title" x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 34}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  const yTitleY = (plot.top + plot.bottom) / 2;
  parts.push(`<text class="axis-title" x="14" y="${yTitleY}" text-anchor="middle" transform="rotate(-90 14 ${yTitleY})">${escapeHtml(spec.yLabel)}</text>`);

  for (const m of spec.markers ?? []) {
    if (m.x < extent.x[0] || m.x > extent.x[1]) continue;
    const x = r1(sx(m.x));
    parts.push(`<line class="marker" x1="${x}" x2="${x}" y1="${plot.top}" y2="${plot.bottom}"/>`);
    parts.push(`<text class="marker-label" x="${x + 4}" y="${plot.top + 11}">${escapeHtml(m.label)}</text>`);
  }

  // Bands first so every line is drawn over every band; values outside a fixed domain are clipped.
  const clipId = `clip-${spec.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  parts.push(`<clipPath id="${clipId}"><rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}"/></clipPath>`);
  parts.push(`<g clip-path="url(#${clipId})">`);
  for (const s of spec.series) {
    const d = s.band ? bandPath(s.band, sx, sy) : "";
    if (d !== "") parts.push(`<path class="band" data-band="${escapeHtml(s.name)}" d="${d}" fill="${s.color}"/>`);
  }
  for (const s of spec.series) {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : "";
    parts.push(`<path class="line" data-series="${escapeHtml(s.name)}" d="${linePath(s.points, sx, sy)}" stroke="${s.color}"${dash}><title>${escapeHtml(s.name)}</title></path>`);
  }
  parts.push(`</g>`);

  const legendTop = plot.bottom + AXIS_SPACE + 4;
  parts.push(`<g class="legend">`);
  for (const item of legend.items) {
    const y = legendTop + item.row * LEGEND_ROW;
    const dash = item.series.dash ? ` stroke-dasharray="${item.series.dash}"` : "";
    parts.push(`<line x1="${r1(item.x)}" x2="${r1(item.x + 20)}" y1="${y}" y2="${y}" stroke="${item.series.color}"${dash}/>`);
    parts.push(`<text x="${r1(item.x + 26)}" y="${y + 4}">${escapeHtml(item.series.name)}</text>`);
  }
  parts.push(`</g></svg>`);
  return parts.join("");
}
