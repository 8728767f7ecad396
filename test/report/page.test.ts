// The page as a file: the chart library inlined (with its licence), nothing loaded from
// anywhere, and run names or titles that look like markup staying text and data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chartIds, loadReportInputs, renderReport } from "../../src/report/build.js";
import { scriptJson } from "../../src/report/interactive-chart.js";
import { writeComparisonFixture, writeRunFixture } from "./fixtures.js";
import { chartDataBlock } from "./report-html.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-report-page-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const uplotDir = dirname(createRequire(import.meta.url).resolve("uplot/package.json"));

/** Every <script …> and <link …> start tag, and every src/href attribute anywhere. */
function loads(html: string): string[] {
  return [...html.matchAll(/<(?:script|link|img|iframe|object|embed|source|video|audio)\b[^>]*\s(?:src|href|data)\s*=\s*["']?[^"'\s>]*/gi), ...html.matchAll(/\s(?:src|href)\s*=\s*(?:"(?!#)|'(?!#)|(?!["'#]))[^"'\s>]*/gi)].map((m) => m[0]);
}

test("the report inlines uPlot and its licence, and loads nothing", (t) => {
  const dir = tempDir(t);
  const cmp = writeComparisonFixture(join(dir, "cmp"));
  const html = renderReport(loadReportInputs([cmp.dir]));
  const lib = readFileSync(join(uplotDir, "dist", "uPlot.iife.min.js"), "utf8");
  const version = (JSON.parse(readFileSync(join(uplotDir, "package.json"), "utf8")) as { version: string }).version;
  assert.ok(html.includes(`<script data-library="uPlot ${version}">${lib}</script>`), "uPlot's browser build, verbatim");
  assert.ok(html.includes(readFileSync(join(uplotDir, "dist", "uPlot.min.css"), "utf8")), "uPlot's stylesheet");
  // The MIT notice, with the copyright line, travels with the code.
  const license = readFileSync(join(uplotDir, "LICENSE"), "utf8");
  assert.match(license, /Copyright \(c\) \d{4} Leon Sorokin/);
  assert.ok(html.includes(license.replace(/"/g, "&quot;").replace(/'/g, "&#39;")), "uPlot's licence text");
  assert.deepEqual(loads(html), [], "no src/href/data URL: nothing to fetch");
  assert.doesNotMatch(html, /<link\b|@import|url\((?!#)/i);
  // Every script is inline: the data block, the library, and the page's own script.
  assert.deepEqual([...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]), ['<script type="application/json" id="fgrpo-chart-data">', `<script data-library="uPlot ${version}">`, "<script>"]);
  // Every chart has a host; the validation figures also a static SVG for readers without JavaScript.
  const charts = chartDataBlock(html).charts;
  assert.deepEqual(chartIds(html), charts.map((c) => c.id));
  for (const c of charts) {
    assert.ok(html.includes(`data-chart-host="${c.id}"`) || html.includes(`<option value="${c.id}">`), `host of ${c.id}`);
    const fallback = html.includes(`<svg class="chart" data-chart="${c.id}"`);
    assert.equal(fallback, /^(sample-efficiency|validation)-/.test(c.id), `fallback SVG of ${c.id}`);
  }
  assert.ok(charts.some((c) => c.id.startsWith("sample-efficiency-")) && charts.some((c) => c.id.startsWith("validation-")) && charts.some((c) => c.id.startsWith("rl-")));
});

test("scriptJson: the JSON cannot end its <script> element, and parses back unchanged", () => {
  const value = { name: "</script><script>alert(1)</script>", c: "<!-- -->", amp: "a & b > c", ls: "x\u2028y\u2029z", n: [1, null, 0.5] };
  const text = scriptJson(value);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), value);
});

test("run names and titles that look like markup stay text (no script injection)", (t) => {
  const dir = tempDir(t);
  const evil = `evil</script><script>globalThis.pwned=1</script><!--"'&`;
  const run = join(dir, "run");
  writeRunFixture(run, { name: evil, sftSteps: 6, rlSteps: 10, validateEvery: 5 });
  const html = renderReport(loadReportInputs([run]), `title</title><script>globalThis.pwned=2</script>`);
  // Only the page's three scripts open and close.
  assert.equal((html.match(/<script\b/gi) ?? []).length, 3);
  assert.equal((html.match(/<\/script/gi) ?? []).length, 3);
  assert.ok(html.includes("<title>title&lt;/title&gt;&lt;script&gt;globalThis.pwned=2&lt;/script&gt;</title>"));
  // The name reaches the charts as data, exactly.
  const data = chartDataBlock(html);
  const se = data.charts.find((c) => c.id === "sample-efficiency-ndcg-5")!;
  assert.deepEqual(se.series.map((s) => s.name), [evil]);
  assert.ok(data.charts.find((c) => c.id === "rl-kl")!.series.length === 1);
});
