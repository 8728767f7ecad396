import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateRun } from "../../src/eval/metrics.js";
import { readGoldFile, readRunFile, writeGoldJsonl, writeRunJsonl } from "../../src/eval/run-files.js";

// Compiled tests run from dist/test/eval; fixtures stay in the source tree.
const root = join(import.meta.dirname, "..", "..", "..");
const fixture = (name: string): string => join(root, "test", "fixtures", "eval", name);
const cli = join(root, "dist", "src", "cli", "main.js");

function score(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, "score", ...args], { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const L3 = Math.log2(3);

test("score --json on JSONL files matches hand-computed means and evaluateRun", () => {
  const metrics = "recall@1,recall@3,ndcg@3,mrr,slate_recall";
  const r = score("--run", fixture("run.jsonl"), "--gold", fixture("gold.jsonl"), "--metrics", metrics, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, number>;
  // q1: ranking [d3 d1 d7], G = {d1:2, d7:1, d8:1}; q2: ranking [d5 d2] (duplicate d2 dropped), G = {d2};
  // q3 is missing from the run and scores 0.
  const expected: Record<string, number> = {
    "recall@1": 0,
    "recall@3": (2 / 3 + 1 + 0) / 3,
    "ndcg@3": ((2 / L3 + 1 / 2) / (2 + 1 / L3 + 1 / 2) + 1 / L3) / 3,
    mrr: (1 / 2 + 1 / 2) / 3,
    slate_recall: (2 / 3 + 1) / 3,
  };
  assert.deepEqual(Object.keys(out), Object.keys(expected));
  for (const [m, v] of Object.entries(expected)) assert.ok(Math.abs(out[m]! - v) < 1e-12, `${m}: ${out[m]} vs ${v}`);
  const lib = evaluateRun(readRunFile(fixture("run.jsonl")), readGoldFile(fixture("gold.jsonl")), metrics.split(","));
  for (const m of Object.keys(expected)) assert.equal(out[m], lib.metrics[m]!.mean);
  assert.match(r.stderr, /queries: 3 in gold; missing from run \(scored 0\): 1; run queries not in gold \(ignored\): 1/);
});

test("TREC run + qrels give the same scores as the JSONL files", () => {
  const a = score("--run", fixture("run.jsonl"), "--gold", fixture("gold.jsonl"), "--json");
  const b = score("--run", fixture("run.trec"), "--gold", fixture("qrels.txt"), "--json");
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ja = JSON.parse(a.stdout) as Record<string, number>;
  const jb = JSON.parse(b.stdout) as Record<string, number>;
  // slate_recall is a default only when the run has slates; the TREC run has none
  assert.ok("slate_recall" in ja && !("slate_recall" in jb));
  delete ja.slate_recall;
  assert.deepEqual(jb, ja);
  assert.deepEqual(readRunFile(fixture("run.trec")).get("q1")!.ranking, ["d3", "d1", "d7"]);
});

test("table output shows means, CIs, counts; --per-query lists every gold query", () => {
  const r = score("--run", fixture("run.jsonl"), "--gold", fixture("qrels.txt"), "--metrics", "mrr", "--per-query");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^q1\s+0\.5000$/m);
  assert.match(r.stdout, /^q3\s+0\.0000$/m);
  assert.match(r.stdout, /^mrr\s+0\.3333\s+\[\d\.\d{4}, \d\.\d{4}\]$/m);
  assert.match(r.stdout, /missing from run \(scored 0\): 1/);
  assert.match(r.stdout, /unjudged ranked documents: 1/); // d5 of q2; qrels judge d3 of q1 as 0
});

test("bad lines name file and line (exit 1); bad flags exit 2", () => {
  const badRun = score("--run", fixture("bad-run.jsonl"), "--gold", fixture("gold.jsonl"));
  assert.equal(badRun.code, 1);
  assert.match(badRun.stderr, /bad-run\.jsonl:2, field "ranking": expected an array/);
  const badQrels = score("--run", fixture("run.jsonl"), "--gold", fixture("bad-qrels.txt"));
  assert.equal(badQrels.code, 1);
  assert.match(badQrels.stderr, /bad-qrels\.txt:3: expected 4 columns/);
  const badTrec = score("--run", fixture("bad-run.trec"), "--gold", fixture("qrels.txt"));
  assert.equal(badTrec.code, 1);
  assert.match(badTrec.stderr, /bad-run\.trec:2, field "score"/);
  const missing = score("--run", fixture("nope.jsonl"), "--gold", fixture("gold.jsonl"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.jsonl: cannot read file/);
  assert.equal(score("--gold", fixture("gold.jsonl")).code, 2);
  const badMetric = score("--run", fixture("run.jsonl"), "--gold", fixture("gold.jsonl"), "--metrics", "ndcg@x");
  assert.equal(badMetric.code, 2);
  assert.match(badMetric.stderr, /valid metrics/);
  assert.equal(score("--run", fixture("run.jsonl"), "--gold", fixture("gold.jsonl"), "--frobnicate").code, 2);
  const noSlates = score("--run", fixture("run.trec"), "--gold", fixture("gold.jsonl"), "--metrics", "slate_recall");
  assert.equal(noSlates.code, 2);
});

test("writeRunJsonl / writeGoldJsonl round-trip through the readers", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-score-"));
  try {
    const run = readRunFile(fixture("run.jsonl"));
    const gold = readGoldFile(fixture("qrels.txt"));
    writeRunJsonl(join(dir, "run.jsonl"), run);
    writeGoldJsonl(join(dir, "gold.jsonl"), gold);
    assert.deepEqual(readRunFile(join(dir, "run.jsonl")), run);
    assert.deepEqual(readGoldFile(join(dir, "gold.jsonl")), gold);
    assert.match(readFileSync(join(dir, "gold.jsonl"), "utf8"), /^\{"id":"q1","relevant":\{"d1":2,"d7":1,"d8":1,"d3":0\}\}\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
