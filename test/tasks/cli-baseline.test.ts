import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readGoldFile, readRunFile } from "../../src/eval/run-files.js";
import { fixture } from "./fixture-paths.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const fgrpo = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });

test("fgrpo baseline --json prints one object metric → mean, same under the same seed", () => {
  const a = fgrpo("baseline", "--task", "rec", "--method", "popularity", "--limit", "100", "--json", "--seed", "2");
  assert.equal(a.status, 0, a.stderr);
  const obj = JSON.parse(a.stdout) as Record<string, number>;
  assert.deepEqual(Object.keys(obj), ["recall@1", "recall@3", "recall@5", "ndcg@1", "ndcg@3", "ndcg@5", "hit@1", "hit@3", "hit@5", "mrr@5"]);
  assert.ok(Object.values(obj).every((v) => v >= 0 && v <= 1));
  assert.equal(fgrpo("baseline", "--task", "rec", "--method", "popularity", "--limit", "100", "--json", "--seed", "2").stdout, a.stdout);
});

test("fgrpo baseline table and --write-run/--write-gold files that `fgrpo score` reads to the same numbers", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-baseline-"));
  const run = join(dir, "run.jsonl"), gold = join(dir, "gold.jsonl");
  const r = fgrpo("baseline", "--task", "qa", "--method", "bm25", "--split", "valid", "--write-run", run, "--write-gold", gold);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /qa valid: method bm25, \d+ queries/);
  assert.match(r.stdout, /ndcg@5\s+0\.\d{4}\s+\[0\.\d{4}, [01]\.\d{4}\]/);
  const runs = readRunFile(run);
  const golds = readGoldFile(gold);
  assert.equal(runs.size, golds.size);
  for (const q of runs.values()) assert.equal(q.ranking.length, 20);
  const scored = fgrpo("score", "--run", run, "--gold", gold, "--metrics", "ndcg@5,mrr@5", "--json");
  const direct = fgrpo("baseline", "--task", "qa", "--method", "bm25", "--split", "valid", "--json");
  const s = JSON.parse(scored.stdout), d = JSON.parse(direct.stdout);
  assert.equal(s["ndcg@5"], d["ndcg@5"]);
  assert.equal(s["mrr@5"], d["mrr@5"]);
});

test("fgrpo baseline: usage errors exit 2, bad data exits 1 naming file and line, and nothing is written", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-baseline-"));
  const out = join(dir, "run.jsonl");
  const bad = fgrpo("baseline", "--task", "rec", "--method", "bm25", "--write-run", out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--method for rec must be one of/);
  const noTask = fgrpo("baseline", "--method", "random");
  assert.equal(noTask.status, 2);
  const badData = fgrpo("baseline", "--task", "rec", "--method", "random", "--data", fixture("rec-bad.jsonl"), "--write-run", out);
  assert.equal(badData.status, 1);
  assert.match(badData.stderr, /rec-bad\.jsonl:2/);
  // The retriever baseline on pools without a retriever order is refused before writing.
  const noRetriever = fgrpo("baseline", "--task", "rec", "--method", "retriever", "--negatives", "random", "--write-run", out);
  assert.equal(noRetriever.status, 2);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(dir), []);
});

test("fgrpo baseline reads users' own data (JSONL, skip mode) and RecBole fixtures", () => {
  const r = fgrpo("baseline", "--task", "rec", "--method", "itemknn", "--data", fixture("recbole"), "--pool-size", "3", "--json");
  assert.equal(r.status, 0, r.stderr);
  const s = fgrpo("baseline", "--task", "rec", "--method", "random", "--data", fixture("rec-bad.jsonl"), "--skip-bad", "--pool-size", "2");
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /4 skipped/);
});
