// Opens rendered reports in headless Chromium and checks what a reader would see: every chart
// drawn with real lines, the comparison table's rows and values, no script errors, and no
// network access at all (the report must work offline).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { loadReportInputs, renderReport } from "../../src/report/build.js";
import { writeComparisonFixture, writeRunFixture, VALIDATION_METRICS, type ComparisonFixture } from "./fixtures.js";

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

interface ChartSummary {
  id: string;
  width: number;
  height: number;
  series: { name: string; d: string; length: number }[];
}

async function charts(page: Page): Promise<Map<string, ChartSummary>> {
  const list = await page.$$eval("svg[data-chart]", (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      return {
        id: svg.getAttribute("data-chart")!,
        width: box.width,
        height: box.height,
        series: [...svg.querySelectorAll("path[data-series]")].map((p) => ({
          name: p.getAttribute("data-series")!,
          d: p.getAttribute("d") ?? "",
          // The rendered length proves the browser drew a line, not just that the markup exists.
          length: (p as unknown as { getTotalLength(): number }).getTotalLength(),
        })),
      };
    }),
  );
  const byId = new Map<string, ChartSummary>();
  for (const c of list) {
    assert.ok(!byId.has(c.id), `chart id ${c.id} used twice`);
    byId.set(c.id, c);
  }
  return byId;
}

const pointCount = (d: string) => (d.match(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g) ?? []).length;

/** Asserts the exact set of charts and, per chart, its series: each drawn with several points. */
function assertCharts(found: Map<string, ChartSummary>, expected: Record<string, string[]>): void {
  assert.deepEqual([...found.keys()].sort(), Object.keys(expected).sort(), "charts in the report");
  for (const [id, series] of Object.entries(expected)) {
    const chart = found.get(id)!;
    assert.ok(chart.width > 300 && chart.height > 200, `chart ${id} is not visible (${chart.width}×${chart.height})`);
    assert.deepEqual(chart.series.map((s) => s.name).sort(), [...series].sort(), `series of chart ${id}`);
    for (const s of chart.series) {
      assert.ok(pointCount(s.d) >= 4, `chart ${id}, series ${s.name}: only ${pointCount(s.d)} points in "${s.d.slice(0, 80)}"`);
      assert.ok(s.length > 50, `chart ${id}, series ${s.name}: drawn length ${s.length}`);
    }
  }
}

const runNames = ["fgrpo-s0", "fgrpo-s1", "grpo-s0", "grpo-s1"];
const perRun = (quantities: string[]) => runNames.flatMap((r) => quantities.map((q) => `${r} · ${q}`));
const validationChartId = (m: string) => `validation-${m.replace(/[^A-Za-z0-9]+/g, "-")}`;
const FAILURES = ["wrong_format", "out_of_pool", "repetition", "too_long", "rank_not_in_slate"];

test("comparison report: every chart overlays the four runs; the table shows the comparison", async () => {
  const fixture: ComparisonFixture = writeComparisonFixture(join(workDir, "cmp"));
  const { page, problems } = await open(writeReport([fixture.dir], "comparison.html"));
  const expected: Record<string, string[]> = {
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
    ...Object.fromEntries(VALIDATION_METRICS.map((m) => [validationChartId(m), runNames])),
  };
  assertCharts(await charts(page), expected);

  // Reward charts carry std bands; the gradient norm has a gap where the trainer logged null.
  assert.equal(await page.locator('svg[data-chart="rl-reward-gen"] path[data-band]').count(), 4);
  const gradNorm = await page.getAttribute('svg[data-chart="rl-grad-norm"] path[data-series="fgrpo-s0"]', "d");
  assert.equal(gradNorm!.split("M").length - 1, 2, "one gap → two segments");

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

test("single-run report: series are named by quantity; SFT then RL validation on one axis", async () => {
  const dir = join(workDir, "single");
  writeRunFixture(dir, { name: "solo <run>", sftSteps: 30, rlSteps: 40, validateEvery: 5 });
  const { page, problems } = await open(writeReport([dir], "single.html"));
  const found = await charts(page);
  assert.deepEqual(found.get("rl-adv-std")!.series.map((s) => s.name), ["gen", "rank", "joint"]);
  assert.deepEqual(found.get("rl-validity-1")!.series.map((s) => s.name), FAILURES);
  const ndcg = found.get("validation-ndcg-5")!.series;
  assert.equal(ndcg.length, 1);
  assert.equal(pointCount(ndcg[0]!.d), 6 + 8, "6 SFT and 8 RL validations");
  assert.equal(await page.locator('svg[data-chart="validation-ndcg-5"] .marker').count(), 1, "SFT → RL marker");
  // The run name is text, not markup.
  assert.ok((await page.textContent("table[data-table=overview] thead"))!.includes("solo <run>"));
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
