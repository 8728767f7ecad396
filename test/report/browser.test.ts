// Opens rendered reports in headless Chromium and checks what a reader would see: every chart
// drawn by uPlot with real lines, values on hover, legend toggles, the metric menu, the comparison table's rows and values, no script errors, and no
// network access at all (the report must work offline).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { loadReportInputs, renderReport } from "../../src/report/build.js";
import { writeComparisonFixture, writeRunFixture, VALIDATION_METRICS, type ComparisonFixture } from "./fixtures.js";
import { chartDataBlock, type ChartData } from "./report-html.js";

const CHROMIUM = "/usr/bin/chromium";

let workDir: string;
let context: BrowserContext;
/** Every request for something other than a file: URL, whether or not it was blocked. */
const networkRequests: string[] = [];

before(async () => {
  // Deliberately not a skip: a missing browser must not turn the test suite green.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: the report's browser test needs Debian's chromium; run scripts/setup.sh (it installs it)`);
  workDir = mkdtempSync(join(tmpdir(), "fgrpo-report-browser-"));
  context = await chromium.launchPersistentContext(join(workDir, "user-data"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1300, height: 900 },
  });
  context.on("request", (req) => {
    if (!req.url().startsWith("file:")) networkRequests.push(req.url());
  });
  await context.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
});

after(async () => {
  await context?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  problems: string[];
}

/** Opens a report, collecting console errors and uncaught page errors. */
async function open(file: string): Promise<Opened> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const response = await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  assert.ok(response === null || response.ok(), `loading ${file} failed`);
  return { page, problems };
}

function writeReport(dirs: string[], name: string): string {
  const file = join(workDir, name);
  writeFileAtomic(file, renderReport(loadReportInputs(dirs)));
  return file;
}

/** What a reader sees of a chart: uPlot's instance (by id), its size, series and visibility. */
interface LiveChart {
  id: string;
  width: number;
  height: number;
  labels: string[];
  shown: boolean[];
}

async function liveCharts(page: Page): Promise<Map<string, LiveChart>> {
  const list = await page.evaluate(() => {
    const charts = (globalThis as unknown as { fgrpoCharts: Record<string, { width: number; height: number; series: { label: string; show: boolean }[] }> }).fgrpoCharts;
    return Object.entries(charts).map(([id, u]) => ({ id, width: u.width, height: u.height, labels: u.series.slice(1).map((s) => s.label), shown: u.series.slice(1).map((s) => s.show) }));
  });
  return new Map(list.map((c) => [c.id, c]));
}

/** Per colour, how many plot pixels of a chart's canvas have it: proof that lines were drawn. */
async function pixelsOf(page: Page, id: string, colors: string[]): Promise<number[]> {
  return page.evaluate(
    ([id, colors]) => {
      const u = (globalThis as unknown as { fgrpoCharts: Record<string, { bbox: { left: number; top: number; width: number; height: number }; ctx: { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }> }).fgrpoCharts[id]!;
      const { left, top, width, height } = u.bbox;
      const img = u.ctx.getImageData(left, top, width, height).data;
      return colors.map((hex) => {
        const n = parseInt(hex.slice(1), 16);
        const rgb = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
        let count = 0;
        for (let i = 0; i < img.length; i += 4) if (img[i + 3]! > 200 && Math.abs(img[i]! - rgb[0]!) + Math.abs(img[i + 1]! - rgb[1]!) + Math.abs(img[i + 2]! - rgb[2]!) < 40) count++;
        return count;
      });
    },
    [id, colors] as const,
  );
}

/**
 * Asserts the exact set of drawn charts and, per chart, its legend: each visible series must
 * have left pixels of its colour on the plot, and the data behind it several points.
 */
async function assertCharts(page: Page, data: ChartData, expected: Record<string, string[]>): Promise<void> {
  const found = await liveCharts(page);
  assert.deepEqual([...found.keys()].sort(), Object.keys(expected).sort(), "charts drawn in the report");
  for (const [id, series] of Object.entries(expected)) {
    const chart = found.get(id)!;
    assert.ok(chart.width > 300 && chart.height > 200, `chart ${id} is not visible (${chart.width}×${chart.height})`);
    assert.deepEqual([...chart.labels].sort(), [...series].sort(), `series of chart ${id}`);
    const spec = data.charts.find((c) => c.id === id)!;
    const visible = spec.series.filter((s) => !s.hidden);
    assert.deepEqual(chart.shown, spec.series.map((s) => !s.hidden), `visibility of the series of ${id}`);
    for (const s of visible) assert.ok(s.y.filter((v) => v !== null).length >= 2, `chart ${id}, series ${s.name}: only ${s.y.length} points`);
    const pixels = await pixelsOf(page, id, [...new Set(visible.map((s) => s.color))]);
    pixels.forEach((n, i) => assert.ok(n > 20, `chart ${id}: colour ${[...new Set(visible.map((s) => s.color))][i]} drew only ${n} pixels`));
  }
}

const runNames = ["fgrpo-s0", "fgrpo-s1", "grpo-s0", "grpo-s1"];
const perRun = (quantities: string[]) => runNames.flatMap((r) => quantities.map((q) => `${r} · ${q}`));
const validationChartId = (m: string) => `validation-${m.replace(/[^A-Za-z0-9]+/g, "-")}`;
const FAILURES = ["wrong_format", "out_of_pool", "repetition", "too_long", "rank_not_in_slate"];
const SAMPLE_EFFICIENCY = ["fgrpo (mean of 2 seeds)", "fgrpo · seed 0", "fgrpo · seed 1", "grpo (mean of 2 seeds)", "grpo · seed 0", "grpo · seed 1"];

/** The legend's value cells by series label (uPlot updates them as the cursor moves). */
async function legendValues(page: Page, id: string): Promise<Record<string, string>> {
  return page.$$eval(`[data-chart-host="${id}"] .u-legend tr.u-series`, (rows) => Object.fromEntries(rows.map((r) => [r.querySelector(".u-label")!.textContent!, r.querySelector(".u-value")!.textContent!])));
}

test("comparison report: every chart overlays the four runs; the sample-efficiency chart has every method; the table shows the comparison", async () => {
  const fixture: ComparisonFixture = writeComparisonFixture(join(workDir, "cmp"));
  const file = writeReport([fixture.dir], "comparison.html");
  const data = chartDataBlock(readFileSync(file, "utf8"));
  const { page, problems } = await open(file);
  const expected: Record<string, string[]> = {
    // One figure, one metric at a time: ndcg@5 first.
    "sample-efficiency-ndcg-5": SAMPLE_EFFICIENCY,
    "rl-reward-gen": runNames,
    "rl-reward-rank": runNames,
    "rl-reward-joint": runNames,
    "rl-adv-std": perRun(["gen", "rank", "joint"]),
    "rl-zero-var": perRun(["gen", "rank", "joint"]),
    "rl-invalid": runNames,
    ...Object.fromEntries(runNames.map((_, i) => [`rl-validity-${i + 1}`, FAILURES])),
    "rl-kl": runNames,
    // F-GRPO clips per phase, GRPO once: each run has only its method's keys.
    "rl-clip": [...perRun(["low_gen", "high_gen", "low_rank", "high_rank"]).filter((s) => s.startsWith("fgrpo")), ...perRun(["low", "high"]).filter((s) => s.startsWith("grpo"))],
    "rl-entropy": runNames,
    "rl-loss": runNames,
    "rl-grad-norm": runNames,
    "rl-timing": perRun(["generation", "scoring", "update"]),
    "rl-throughput": runNames,
    "sft-loss": runNames,
    "sft-token-accuracy": runNames,
    // One figure with a metric menu, ndcg@5 first.
    [validationChartId("ndcg@5")]: runNames,
  };
  await assertCharts(page, data, expected);

  // Reward charts carry std bands; the gradient norm has a gap where the trainer logged null.
  assert.equal(data.charts.find((c) => c.id === "rl-reward-gen")!.series.filter((s) => s.band !== null).length, 4);
  assert.equal(data.charts.find((c) => c.id === "rl-grad-norm")!.series.find((s) => s.name === "fgrpo-s0")!.y.filter((v) => v === null).length, 1);

  // Hover: over a validation point the legend shows every method's value there.
  const se = data.charts.find((c) => c.id === "sample-efficiency-ndcg-5")!;
  const mean = se.series[0]!;
  const k = 2;
  const at = await page.evaluate(
    ([x, y]) => {
      const u = (globalThis as unknown as { fgrpoCharts: Record<string, { valToPos(v: number, s: string): number; over: { getBoundingClientRect(): { left: number; top: number } } }> }).fgrpoCharts["sample-efficiency-ndcg-5"]!;
      const box = u.over.getBoundingClientRect();
      return { x: box.left + u.valToPos(x!, "x"), y: box.top + u.valToPos(y!, "y") };
    },
    [mean.x[k]!, mean.y[k]!] as const,
  );
  await page.mouse.move(at.x, at.y);
  const shown = await legendValues(page, "sample-efficiency-ndcg-5");
  const fmt = (v: number) => String(Number(v.toPrecision(5)));
  assert.equal(shown["fgrpo (mean of 2 seeds)"], fmt(mean.y[k]!), JSON.stringify(shown));
  assert.equal(shown["grpo (mean of 2 seeds)"], fmt(se.series[3]!.y[k]!));
  assert.equal(shown[se.xLabel], fmt(mean.x[k]!));

  // Legend clicks toggle series: hide GRPO's mean, show F-GRPO's seed 0.
  const legend = page.locator('[data-chart-host="sample-efficiency-ndcg-5"] .u-legend');
  await legend.getByText("grpo (mean of 2 seeds)", { exact: true }).click();
  await legend.getByText("fgrpo · seed 0", { exact: true }).click();
  const toggled = (await liveCharts(page)).get("sample-efficiency-ndcg-5")!;
  assert.deepEqual(toggled.shown, [true, true, false, false, false, false]);

  // The metric menu swaps the chart: recall@5 now, same methods.
  await page.selectOption('figure[data-figure="sample-efficiency"] select', "sample-efficiency-recall-5");
  const swapped = await liveCharts(page);
  assert.ok(!swapped.has("sample-efficiency-ndcg-5") && swapped.has("sample-efficiency-recall-5"));
  assert.deepEqual(swapped.get("sample-efficiency-recall-5")!.labels, SAMPLE_EFFICIENCY);
  assert.equal(await page.textContent('figure[data-figure="sample-efficiency"] .caption-text'), "F-GRPO vs GRPO (test): validation recall@5");
  // The comparison table: one row per method, mean and CI per metric, Δ and p vs the reference.
  const rows = await page.$$eval("table[data-table=comparison] tbody tr", (trs) =>
    trs.map((tr) => ({
      method: tr.getAttribute("data-method"),
      header: tr.querySelector("th")!.textContent!.trim(),
      cells: Object.fromEntries([...tr.querySelectorAll("td[data-metric]")].map((td) => [td.getAttribute("data-metric"), { text: td.textContent!.replace(/\s+/g, " ").trim(), best: td.classList.contains("best") }])),
    })),
  );
  assert.deepEqual(rows.map((r) => r.method), ["fgrpo", "grpo"]);
  assert.match(rows[0]!.header, /^fgrpo\s*reference$/);
  for (const [i, row] of fixture.comparison.rows.entries()) {
    for (const metric of VALIDATION_METRICS) {
      const cell = rows[i]!.cells[metric]!;
      const m = row.metrics[metric]!;
      assert.ok(cell.text.startsWith(`${m.mean.toFixed(4)} [${m.ciLow.toFixed(4)}, ${m.ciHigh.toFixed(4)}]`), `${row.method} ${metric}: "${cell.text}"`);
      const d = row.vsReference?.[metric];
      if (d === undefined) assert.ok(!cell.text.includes("Δ"), `reference row shows a difference: ${cell.text}`);
      else assert.ok(cell.text.includes(`Δ ${d.meanDiff < 0 ? "−" : "+"}${Math.abs(d.meanDiff).toFixed(4)}`) && cell.text.includes(`p = ${d.pValue.toFixed(3)}`), `${row.method} ${metric}: "${cell.text}"`);
    }
  }
  // Best per column: F-GRPO everywhere except recall@5, where the fixture has GRPO ahead.
  for (const metric of VALIDATION_METRICS) {
    const best = rows.filter((r) => r.cells[metric]!.best).map((r) => r.method);
    assert.deepEqual(best, [metric === "recall@5" ? "grpo" : "fgrpo"], `best of ${metric}`);
  }
  // The runs of each row are listed.
  const listed = await page.textContent("details.runs");
  for (const run of fixture.runs) assert.ok(listed!.includes(run), `run ${run} not listed`);

  assert.deepEqual(problems, []);
  await page.close();
});

test("single-run report: series are named by quantity; SFT then RL validation on one axis; markup in a name stays text", async () => {
  const dir = join(workDir, "single");
  const name = "solo <run></script><script>globalThis.pwned=1</script>";
  writeRunFixture(dir, { name, sftSteps: 30, rlSteps: 40, validateEvery: 5 });
  const file = writeReport([dir], "single.html");
  const data = chartDataBlock(readFileSync(file, "utf8"));
  const { page, problems } = await open(file);
  const found = await liveCharts(page);
  assert.deepEqual(found.get("rl-adv-std")!.labels, ["gen", "rank", "joint"]);
  assert.deepEqual(found.get("rl-validity-1")!.labels, FAILURES);
  assert.deepEqual(found.get("sample-efficiency-ndcg-5")!.labels, [name]);
  const ndcg = data.charts.find((c) => c.id === "validation-ndcg-5")!;
  assert.equal(ndcg.series.length, 1);
  assert.equal(ndcg.series[0]!.y.length, 6 + 8, "6 SFT and 8 RL validations");
  assert.deepEqual(ndcg.markers.map((m) => m.label), ["SFT → RL"]);
  // The run name is text, not markup, in the tables and the legends; no injected script ran.
  assert.ok((await page.textContent("table[data-table=overview] thead"))!.includes(name));
  assert.ok(Object.keys(await legendValues(page, "sample-efficiency-ndcg-5")).includes(name));
  assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
  assert.deepEqual(problems, []);
  await page.close();
});

test("the network guard sees requests (so the empty list above means something)", async () => {
  const page = await context.newPage();
  const before = networkRequests.length;
  await page.setContent(`<img src="http://192.0.2.1/pixel.png">`);
  await page.waitForTimeout(200);
  assert.ok(networkRequests.slice(before).some((u) => u.startsWith("http://192.0.2.1/")), "the guard did not see an http request");
  networkRequests.splice(before);
  await page.close();
});

test("no report attempted any network request", () => {
  // Runs after the report tests (node:test runs a file's tests in order).
  assert.deepEqual(networkRequests, []);
});
