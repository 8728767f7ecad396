import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/util/errors.js";
import { loadRecData, detectRecFormat } from "../../src/tasks/rec/load.js";
import { loadMovieLens, loadRecJsonl, loadSequenceLines } from "../../src/tasks/rec/sequence-files.js";
import { loadRecBoleDir } from "../../src/tasks/rec/recbole.js";
import { fixture } from "./fixture-paths.js";

test("RecBole: full sequence = test history + test target; titles and SASRec lists are read", () => {
  const d = loadRecBoleDir(fixture("recbole"));
  assert.deepEqual(d.sequences.get("u1"), ["1", "2", "3", "4", "5"]);
  assert.deepEqual(d.sequences.get("u2"), ["2", "3", "6"]);
  assert.equal(d.sequences.size, 4);
  assert.equal(d.titles.get("2"), "Mario Kart");
  assert.deepEqual(d.candidates?.get("u1"), ["6", "5", "7", "8", "1"]);
  assert.equal(d.candidateSource, "Toy.sasrec");
  assert.equal(d.report.skipped.length, 0);
  assert.equal(loadRecBoleDir(fixture("recbole"), { candidates: null }).candidates, undefined);
});

test("RecBole: a malformed line is an InputError naming file, line and field; skip mode counts reasons", () => {
  assert.throws(
    () => loadRecBoleDir(fixture("recbole-bad")),
    (e: unknown) => e instanceof InputError && /Bad\.test\.inter:3/.test(e.message) && e.location.line === 3 && e.location.field === "item_id",
  );
  const d = loadRecBoleDir(fixture("recbole-bad"), { onError: "skip" });
  assert.equal(d.sequences.size, 2);
  // u2's missing target, then the valid file whose u1 row is not the test history.
  assert.equal(d.report.skipped.length, 2);
  assert.match(d.report.skipped[0]!.reason, /missing target/);
  assert.equal(d.report.skipped[1]!.line, 2);
  assert.match(d.report.skipped[1]!.reason, /not the test history/);
});

test("one-line-per-user sequences (Beauty.txt): a user line without items is reported", () => {
  assert.throws(() => loadSequenceLines(fixture("beauty.txt")), /beauty\.txt:3.*items/);
  const d = loadSequenceLines(fixture("beauty.txt"), { onError: "skip" });
  assert.deepEqual(d.sequences.get("2"), ["6", "7", "8", "9", "10", "4", "11"]);
  assert.equal(d.sequences.size, 3);
  assert.deepEqual(d.report.skipped.map((s) => s.line), [3]);
});

test("MovieLens ratings.dat: ordered by timestamp, ties keep file order, titles from movies.dat", () => {
  const d = loadMovieLens(fixture("ml-1m/ratings.dat"));
  assert.deepEqual(d.sequences.get("1"), ["20", "10", "30"]);
  assert.deepEqual(d.sequences.get("2"), ["30", "20", "10"]);
  assert.equal(d.titles.get("20"), "Jumanji (1995)");
  const liked = loadMovieLens(fixture("ml-1m/ratings.dat"), { minRating: 4 });
  assert.deepEqual(liked.sequences.get("2"), ["20", "10"]);
});

test("MovieLens u.data: tab-separated; a bad rating names the line and field", () => {
  assert.throws(() => loadMovieLens(fixture("ml-100k/u.data")), (e: unknown) => e instanceof InputError && e.location.line === 4 && e.location.field === "rating");
  const d = loadRecData(fixture("ml-100k"), { onError: "skip" });
  assert.deepEqual(d.sequences.get("2"), ["10"]);
  assert.equal(d.titles.get("20"), "GoldenEye (1995)");
  assert.equal(d.report.skipped.length, 1);
});

test("own JSONL format: sequences, titles, candidates; ids may be integers", () => {
  const d = loadRecJsonl(fixture("rec.jsonl"));
  assert.deepEqual(d.sequences.get("x"), ["a", "2", "c", "d"]);
  assert.deepEqual(d.sequences.get("7"), ["c", "d", "a"]);
  assert.equal(d.titles.get("2"), "Two");
  assert.deepEqual(d.candidates?.get("x"), ["e", "c"]);
});

test("own JSONL format: every malformed record is named (line and field) or counted with its reason", () => {
  assert.throws(() => loadRecJsonl(fixture("rec-bad.jsonl")), (e: unknown) => e instanceof InputError && e.location.line === 2 && e.location.field === "items");
  const d = loadRecJsonl(fixture("rec-bad.jsonl"), { onError: "skip" });
  assert.equal(d.sequences.size, 1);
  assert.deepEqual(d.report.skipped.map((s) => s.line), [2, 3, 4, 5]);
  assert.match(d.report.skipped[2]!.reason, /duplicate user/);
  assert.match(d.report.skipped[3]!.reason, /candidates/);
});

test("format detection by path", () => {
  assert.equal(detectRecFormat(fixture("recbole")), "recbole");
  assert.equal(detectRecFormat(fixture("ml-1m")), "movielens");
  assert.equal(detectRecFormat(fixture("rec.jsonl")), "jsonl");
  assert.equal(detectRecFormat(fixture("beauty.txt")), "sequences");
  assert.throws(() => loadRecData(fixture("nope")), InputError);
});
