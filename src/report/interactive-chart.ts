// Interactive charts with uPlot (MIT, ~50 KB), inlined so the report stays one offline file:
// values on hover (the legend shows each series' value under the cursor), legend clicks toggle
// series, bands and markers drawn on the plot. The page carries the charts' data as one JSON
// block (`#fgrpo-chart-data`), which tests parse back; the static SVG of each chart is kept in
// <noscript> for readers without JavaScript.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChartSpec } from "./svg-chart.js";

export interface ChartLibrary {
  name: string;
  version: string;
  license: string;
  /** The licence text, shown in the report. */
  licenseText: string;
  js: string;
  css: string;
}

let cached: ChartLibrary | null = null;

/** uPlot's browser build, stylesheet and licence, read from node_modules (the pinned dependency). */
export function chartLibrary(): ChartLibrary {
  if (cached !== null) return cached;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("uplot/package.json"));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; license: string };
  const js = readFileSync(join(root, "dist", "uPlot.iife.min.js"), "utf8");
  const css = readFileSync(join(root, "dist", "uPlot.min.css"), "utf8");
  // Inlined verbatim, so nothing in them may close the element they sit in.
  if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new Error("uPlot's files contain a closing </script> or </style> tag; they cannot be inlined");
  cached = { name: "uPlot", version: pkg.version, license: pkg.license, licenseText: readFileSync(join(root, "LICENSE"), "utf8"), js, css };
  return cached;
}

/** The JSON form of a chart in the page's data block. */
export interface ChartPayload {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  yMin: number | null;
  yMax: number | null;
  markers: { x: number; label: string }[];
  series: {
    name: string;
    color: string;
    dash: string | null;
    hidden: boolean;
    x: number[];
    /** null: a gap (a value logged as null or non-finite). */
    y: (number | null)[];
    band: { x: number[]; low: (number | null)[]; high: (number | null)[] } | null;
  }[];
}

const finiteOrNull = (v: number | null | undefined): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function chartPayload(spec: ChartSpec): ChartPayload {
  return {
    id: spec.id,
    title: spec.title,
    xLabel: spec.xLabel,
    yLabel: spec.yLabel,
    yMin: spec.yMin ?? null,
    yMax: spec.yMax ?? null,
    markers: spec.markers ?? [],
    series: spec.series.map((s) => ({
      name: s.name,
      color: s.color,
      dash: s.dash ?? null,
      hidden: s.hidden === true,
      x: s.points.map((p) => p.x),
      y: s.points.map((p) => finiteOrNull(p.y)),
      band: s.band ? { x: s.band.map((b) => b.x), low: s.band.map((b) => finiteOrNull(b.low)), high: s.band.map((b) => finiteOrNull(b.high)) } : null,
    })),
  };
}

/**
 * JSON that is safe inside a <script> element: `<`, `>` and `&` are written as \u escapes (so a
 * run named "</script><script>…" stays data), as are U+2028/U+2029 (line breaks to older parsers).
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Id of the data block's <script type="application/json"> element. */
export const DATA_ELEMENT_ID = "fgrpo-chart-data";

/**
 * The page's own script (plain ES5-style JavaScript, no dependency but uPlot): builds one uPlot
 * chart per `[data-chart-host]` element from the data block; a `select[data-chart-select]`
 * swaps the chart of its figure. Charts are kept in `window.fgrpoCharts` by id (for tests).
 */
const CLIENT_SCRIPT = String.raw`(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("${DATA_ELEMENT_ID}").textContent);
  var specs = {};
  payload.charts.forEach(function (c) { specs[c.id] = c; });
  var live = {};
  window.fgrpoCharts = live;
  var HEIGHT = 280;

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(3);
    return String(Number(v.toPrecision(5)));
  }
  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }
  function yRange(spec) {
    var lo = Infinity, hi = -Infinity;
    function see(v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    spec.series.forEach(function (s) {
      s.y.forEach(see);
      if (s.band) { s.band.low.forEach(see); s.band.high.forEach(see); }
    });
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (spec.yMin !== null) lo = spec.yMin;
    if (spec.yMax !== null) hi = spec.yMax;
    if (hi <= lo) { var pad = lo === 0 ? 1 : Math.abs(lo) * 0.1; return [lo - pad, hi + pad]; }
    // A little room beyond fixed bounds too, so a line lying on one (a failure share of 0) shows.
    var span = hi - lo;
    return [lo - span * (spec.yMin !== null ? 0.02 : 0.05), hi + span * (spec.yMax !== null ? 0.02 : 0.05)];
  }
  // Hover: a series without a point at the cursor's x (other series' x values) shows its
  // nearest point instead of a blank; a logged gap (null) stays a gap.
  function nearestDefined(u, si, i) {
    var ys = u.data[si], xs = u.data[0];
    if (i === null || ys[i] !== undefined) return i;
    var best = null, dist = Infinity, l, r;
    for (l = i - 1; l >= 0; l--) if (ys[l] !== undefined) { best = l; dist = xs[i] - xs[l]; break; }
    for (r = i + 1; r < ys.length; r++) if (ys[r] !== undefined) { if (xs[r] - xs[i] < dist) best = r; break; }
    return best;
  }
  // Bands (min–max over seeds, ± std) under the lines, and vertical markers (SFT → RL).
  function drawExtras(u, spec) {
    var ctx = u.ctx, b = u.bbox, px = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    spec.series.forEach(function (s, i) {
      if (!s.band || !u.series[i + 1].show) return;
      var band = s.band, run = [];
      ctx.fillStyle = rgba(s.color, 0.16);
      function flush() {
        if (run.length > 1) {
          ctx.beginPath();
          run.forEach(function (k, j) {
            var x = u.valToPos(band.x[k], "x", true), y = u.valToPos(band.high[k], "y", true);
            if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
          });
          for (var j = run.length - 1; j >= 0; j--) ctx.lineTo(u.valToPos(band.x[run[j]], "x", true), u.valToPos(band.low[run[j]], "y", true));
          ctx.closePath();
          ctx.fill();
        }
        run = [];
      }
      for (var k = 0; k < band.x.length; k++) { if (band.low[k] !== null && band.high[k] !== null) run.push(k); else flush(); }
      flush();
    });
    spec.markers.forEach(function (m) {
      var x = u.valToPos(m.x, "x", true);
      if (x < b.left || x > b.left + b.width) return;
      ctx.strokeStyle = "#8a949c";
      ctx.lineWidth = px;
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.beginPath();
      ctx.moveTo(x, b.top);
      ctx.lineTo(x, b.top + b.height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#5b6670";
      ctx.font = 11 * px + "px system-ui, sans-serif";
      ctx.fillText(m.label, x + 4 * px, b.top + 12 * px);
    });
    ctx.restore();
  }
  function build(host) {
    var spec = specs[host.getAttribute("data-chart-host")];
    if (!spec || live[spec.id]) return;
    if (spec.series.length === 0) { host.textContent = "no data"; return; }
    var data = uPlot.join(spec.series.map(function (s) { return [s.x, s.y]; }));
    var value = function (u, v) { return fmt(v); };
    var series = [{ label: spec.xLabel, value: value }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.name,
        stroke: s.color,
        width: s.hidden ? 1.2 : 1.8,
        dash: s.dash ? s.dash.split(/[ ,]+/).map(Number) : undefined,
        show: !s.hidden,
        spanGaps: false,
        value: value,
        points: { size: 5 }
      });
    });
    var range = yRange(spec);
    var opts = {
      width: Math.max(300, host.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false }, y: { range: function () { return range; } } },
      axes: [{ label: spec.xLabel }, { label: spec.yLabel, size: 64 }],
      series: series,
      cursor: { dataIdx: nearestDefined },
      hooks: { drawAxes: [function (u) { drawExtras(u, spec); }] }
    };
    live[spec.id] = new uPlot(opts, data, host);
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-chart-select]"), function (select) {
    select.addEventListener("change", function () {
      var figure = select.closest("figure");
      var host = figure.querySelector("[data-chart-host]");
      var old = host.getAttribute("data-chart-host");
      if (live[old]) { live[old].destroy(); delete live[old]; }
      host.setAttribute("data-chart-host", select.value);
      figure.querySelector(".caption-text").textContent = specs[select.value].title;
      build(host);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-chart-host]"), build);
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-chart-host]"), function (host) {
        var u = live[host.getAttribute("data-chart-host")];
        if (u) u.setSize({ width: Math.max(300, host.clientWidth), height: HEIGHT });
      });
    }, 100);
  });
})();`;

/** Everything the page needs at the end of <body>: the library, the data block, the script. */
export function chartScripts(specs: ChartSpec[]): string {
  const lib = chartLibrary();
  const data = { version: 1, library: `${lib.name} ${lib.version}`, charts: specs.map(chartPayload) };
  return [
    `<script type="application/json" id="${DATA_ELEMENT_ID}">${scriptJson(data)}</script>`,
    `<script data-library="${lib.name} ${lib.version}">${lib.js}</script>`,
    `<script>${CLIENT_SCRIPT}</script>`,
  ].join("\n");
}
