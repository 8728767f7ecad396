import { test } from "node:test";
import assert from "node:assert/strict";
import { formatTick, linearScale, linePath, niceTicks, renderLineChart, segments, bandPath, type ChartSpec } from "../../src/report/svg-chart.js";

/** The coordinate pairs of each subpath of an SVG path made of M/L commands. */
function subpaths(d: string): [number, number][][] {
  return d
    .split("M")
    .filter((s) => s !== "")
    .map((s) =>
      s
        .replace(/l0,0$/, "")
        .replace(/Z$/, "")
        .split("L")
        .map((pair) => pair.split(",").map(Number) as [number, number]),
    );
}

function seriesPath(svg: string, name: string): string {
  const m = new RegExp(`data-series="${name}" d="([^"]*)"`).exec(svg);
  assert.ok(m, `no path for series ${name}`);
  return m[1]!;
}

test("niceTicks: round steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.13, 0.87, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.07, 0.31, 4), [-0.1, 0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(niceTicks(1, 60, 6), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepEqual(niceTicks(120, 480, 5), [100, 200, 300, 400, 500]);
  // A flat series still gets an axis around its value.
  assert.deepEqual(niceTicks(0.5, 0.5, 5), [0.44, 0.46, 0.48, 0.5, 0.52, 0.54, 0.56]);
  assert.deepEqual(niceTicks(0, 0, 2), [-1, 0, 1]);
  assert.throws(() => niceTicks(Number.NaN, 1));
});

test("formatTick: decimals follow the tick spacing", () => {
  assert.equal(formatTick(0.4, 0.2), "0.4");
  assert.equal(formatTick(0.25, 0.05), "0.25");
  assert.equal(formatTick(40, 10), "40");
  assert.equal(formatTick(0, 0.1), "0");
  assert.equal(formatTick(20000, 5000), "20k");
  assert.equal(formatTick(0.0002, 0.0001), "2e-4");
});

test("linearScale: maps ends to ends, flips for the y axis", () => {
  const sy = linearScale([0, 1], [256, 16]);
  assert.equal(sy(0), 256);
  assert.equal(sy(1), 16);
  assert.equal(sy(0.5), 136);
  assert.equal(linearScale([3, 3], [0, 100])(3), 50);
});

test("segments and linePath: nulls and non-finite values break the line", () => {
  const pts = [
    { x: 1, y: 1 },
    { x: 2, y: 2 },
    { x: 3, y: null },
    { x: 4, y: 4 },
    { x: 5, y: Number.NaN },
    { x: 6, y: 6 },
    { x: 7, y: 7 },
  ];
  assert.deepEqual(segments(pts).map((s) => s.map((p) => p.x)), [[1, 2], [4], [6, 7]]);
  const d = linePath(pts, (x) => x * 10, (y) => 100 - y);
  assert.equal(d, "M10,99L20,98M40,96l0,0M60,94L70,93");
  assert.equal(linePath([{ x: 1, y: null }], (x) => x, (y) => y), "");
});

test("bandPath: upper edge forward, lower edge back, split at gaps", () => {
  const d = bandPath(
    [
      { x: 0, low: 1, high: 3 },
      { x: 1, low: 2, high: 4 },
      { x: 2, low: null, high: null },
      { x: 3, low: 1, high: 2 },
    ],
    (x) => x,
    (y) => y,
  );
  // The lone point after the gap has no area and is left out.
  assert.equal(d, "M0,3L1,4L1,2L0,1Z");
});

const spec = (over: Partial<ChartSpec> = {}): ChartSpec => ({
  id: "demo",
  title: "Demo",
  xLabel: "step",
  yLabel: "value",
  series: [
    { name: "a", color: "#000", points: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((x) => ({ x, y: x / 10 })) },
    { name: "b", color: "#f00", dash: "4 2", points: [{ x: 0, y: 0.5 }, { x: 5, y: null }, { x: 10, y: 0.5 }] },
  ],
  ...over,
});

test("renderLineChart: series span the plot from corner to corner on a fitted domain", () => {
  const svg = renderLineChart(spec());
  assert.match(svg, /^<svg class="chart" data-chart="demo"/);
  const a = subpaths(seriesPath(svg, "a"));
  assert.equal(a.length, 1);
  assert.equal(a[0]!.length, 11);
  const [first, last] = [a[0]![0]!, a[0]![10]!];
  // Plot area: x 62..622, y 16..256 (the y domain [0, 1] is already round).
  assert.deepEqual(first, [62, 256]);
  assert.deepEqual(last, [622, 16]);
  // The second series has a gap in the middle: two dots.
  assert.equal(seriesPath(svg, "b"), "M62,136l0,0M622,136l0,0");
  assert.match(svg, /data-series="b"[^>]*stroke-dasharray="4 2"/);
  // Ticks: 0..1 by 0.2 on y, 0..10 by 2 on x.
  for (const label of ["0.2", "0.8", "1.0"]) assert.ok(svg.includes(`text-anchor="end">${label}</text>`), `no y tick ${label}`);
  for (const label of ["2", "10"]) assert.ok(svg.includes(`text-anchor="middle">${label}</text>`), `no x tick ${label}`);
  // The legend names both series.
  assert.match(svg, /<g class="legend">.*>a<\/text>.*>b<\/text>/);
});

test("renderLineChart: a fixed domain is honoured; a band widens a fitted one", () => {
  const fixed = renderLineChart(spec({ yMin: 0, yMax: 2 }));
  assert.deepEqual(subpaths(seriesPath(fixed, "a"))[0]!.at(-1), [622, 136]);
  const banded = renderLineChart({
    id: "band",
    title: "Band",
    xLabel: "step",
    yLabel: "r",
    series: [{ name: "m", color: "#000", points: [{ x: 0, y: 0.5 }, { x: 1, y: 0.5 }], band: [{ x: 0, low: 0, high: 1 }, { x: 1, low: 0, high: 1 }] }],
  });
  assert.match(banded, /data-band="m" d="M62,16L622,16L622,256L62,256Z"/);
  assert.equal(seriesPath(banded, "m"), "M62,136L622,136");
});

test("renderLineChart: text is escaped; an empty chart says so", () => {
  const svg = renderLineChart(spec({ id: 'x"y', title: "<T&>", series: [{ name: '<b>"run"</b>', color: "#000", points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }] }));
  assert.ok(!svg.includes("<b>"));
  assert.ok(svg.includes('data-series="&lt;b&gt;&quot;run&quot;&lt;/b&gt;"'));
  assert.ok(svg.includes('data-chart="x&quot;y"'));
  assert.ok(svg.includes('aria-label="&lt;T&amp;&gt;"'));
  const empty = renderLineChart(spec({ series: [{ name: "a", color: "#000", points: [{ x: 1, y: null }] }] }));
  assert.match(empty, />no data<\/text><\/svg>$/);
  assert.ok(!empty.includes("data-series"));
});

test("renderLineChart leaves hidden series (switched on in the interactive legend) out of the SVG", () => {
  const points = [{ x: 0, y: 1 }, { x: 1, y: 2 }];
  const svg = renderLineChart({ id: "h", title: "t", xLabel: "x", yLabel: "y", series: [{ name: "mean", points, color: "#000000" }, { name: "seed 0", points, color: "#000000", hidden: true }] });
  assert.ok(svg.includes('data-series="mean"'));
  assert.ok(!svg.includes("seed 0"));
});
