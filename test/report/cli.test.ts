import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeComparisonFixture, writeRunFixture } from "./fixtures.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function fgrpo(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-report-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("fgrpo report writes one self-contained HTML file", (t) => {
  const dir = tempDir(t);
  writeRunFixture(join(dir, "run"), { name: "solo", sftSteps: 10, rlSteps: 12, validateEvery: 4 });
  const cmp = writeComparisonFixture(join(dir, "cmp"));
  const out = join(dir, "out", "report.html");
  const r = fgrpo("report", join(dir, "run"), cmp.dir, "--output", out, "--title", "Ablation <λ>");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote .*report\.html: 5 run\(s\), 1 comparison\(s\)/);
  const html = readFileSync(out, "utf8");
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(html.includes("<title>Ablation &lt;λ&gt;</title>"));
  // Offline: scripts only inline, no stylesheets, fonts or other files; url() only for in-page SVG references.
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link|<img|<iframe|@import/i);
  for (const m of html.matchAll(/url\(([^)]*)\)/g)) assert.match(m[1]!, /^#/, `external url(${m[1]})`);
  // The only URL in the file is the address in uPlot's own banner comment (no tag attribute).
  assert.deepEqual([...new Set([...html.matchAll(/https?:\/\/[^\s"'<>)]*/gi)].map((m) => m[0]))], ["https://github.com/leeoniya/uPlot"]);
  // The atomic writer leaves no temporary file behind.
  assert.deepEqual(readdirSync(join(dir, "out")), ["report.html"]);
});

test("fgrpo report: usage errors exit 2", (t) => {
  const dir = tempDir(t);
  writeRunFixture(join(dir, "run"), { name: "solo", sftSteps: 3, rlSteps: 3 });
  for (const args of [["--output", join(dir, "r.html")], [join(dir, "run")], [join(dir, "run"), "--output"], [join(dir, "run"), "--output", join(dir, "r.html"), "--colour", "red"]]) {
    const r = fgrpo("report", ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^fgrpo report: .*see fgrpo report --help/);
  }
  assert.ok(!existsSync(join(dir, "r.html")));
  const help = fgrpo("report", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: fgrpo report RUN_DIR\.\.\. --output FILE/);
  assert.match(fgrpo("--help").stdout, /^ {2}report$/m);
});

test("fgrpo report: input errors exit 1, name the file and line, and leave the old report alone", (t) => {
  const dir = tempDir(t);
  const out = join(dir, "report.html");
  writeFileSync(out, "previous report");

  let r = fgrpo("report", join(dir, "missing"), "--output", out);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing: no such directory/);

  writeRunFixture(join(dir, "run"), { name: "solo", sftSteps: 3, rlSteps: 3 });
  const metrics = join(dir, "run", "rl", "metrics.jsonl");
  const lines = readFileSync(metrics, "utf8").trimEnd().split("\n").length;
  appendFileSync(metrics, '{"step": 4, "phase": "rl", "loss": \n');
  r = fgrpo("report", join(dir, "run"), "--output", out);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${metrics}:${lines + 1}: invalid JSON`), r.stderr);
  assert.equal(readFileSync(out, "utf8"), "previous report");
});
