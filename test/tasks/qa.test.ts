import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { InputError } from "../../src/util/errors.js";
import { loadQaFile, loadQaFiles } from "../../src/tasks/qa/load.js";
import { buildQaExamples, splitQa, QaPoolBuilder } from "../../src/tasks/qa/examples.js";
import { BUNDLED_HOTPOTQA_FILES } from "../../src/tasks/bundled.js";
import { isComplete } from "../../src/tasks/qa/types.js";
import { fixture, hasSharedData, SHARED_DATA } from "./fixture-paths.js";

const qa = (name: string) => fixture(`qa/${name}`);

test("HotpotQA original (JSON array): paragraphs, supporting flags from supporting_facts, record start lines", () => {
  const { questions } = loadQaFile(qa("hotpot-array.json"));
  assert.deepEqual(questions.map((q) => q.id), ["q1", "q2"]);
  const q1 = questions[0]!;
  assert.equal(q1.paragraphs[0]!.text, "David Eric Grohl is an American musician. He was the drummer of Nirvana.");
  assert.deepEqual(q1.paragraphs.map((p) => p.supporting), [true, true, false]);
  assert.equal(q1.answer, "Foo Fighters");
  assert.equal(questions[1]!.source, "hotpot-array.json:15");
});

test("HotpotQA JSONL with AMOR-style facts; a supporting paragraph missing from the context is recorded", () => {
  const { questions } = loadQaFile(qa("hotpot.jsonl"));
  assert.deepEqual(questions[0]!.missingSupporting, ["Foo Fighters"]);
  assert.equal(isComplete(questions[0]!), false);
  assert.deepEqual(questions[1]!.paragraphs.filter((p) => p.supporting).map((p) => p.title), ["Blade Runner", "Philip K. Dick"]);
});

test("IRCoT, columnar (TTS) and the original id in `_1`; answers from answers_objects", () => {
  const ircot = loadQaFile(qa("ircot.jsonl")).questions;
  assert.equal(ircot[0]!.paragraphs[1]!.text, "The Seine is a river. It flows through Paris.");
  assert.equal(ircot[0]!.answer, "Seine");
  const col = loadQaFile(qa("hotpot-columnar.json")).questions;
  assert.deepEqual(col.map((q) => q.id), ["q4", "q5"]);
  assert.deepEqual(col[1]!.paragraphs.map((p) => p.supporting), [true, true, false]);
});

test("deduplication by id across formats keeps the most complete copy", () => {
  const files = ["hotpot.jsonl", "hotpot-array.json", "ircot.jsonl", "hotpot-columnar.json"].map(qa);
  const r = loadQaFiles(files);
  assert.deepEqual(r.questions.map((q) => q.id).sort(), ["q1", "q2", "q3", "q4", "q5"]);
  assert.equal(r.duplicates, 3);
  // q1 from hotpot.jsonl lacks "Foo Fighters"; the array copy is complete and wins.
  assert.equal(r.questions.find((q) => q.id === "q1")!.paragraphs.length, 3);
  // q4: IRCoT has 3 paragraphs, the columnar copy 2.
  assert.equal(r.questions.find((q) => q.id === "q4")!.paragraphs.length, 3);
});

test("2WikiMultihopQA and MuSiQue; repeated MuSiQue titles get distinct ids", () => {
  const w = loadQaFile(qa("2wiki.json"), { dataset: "2wikimultihopqa" }).questions[0]!;
  assert.equal(w.dataset, "2wikimultihopqa");
  assert.deepEqual(w.paragraphs.filter((p) => p.supporting).map((p) => p.id), ["Alpha (film)", "John Doe"]);
  const m = loadQaFile(qa("musique.jsonl")).questions[0]!;
  assert.equal(m.dataset, "musique");
  assert.deepEqual(m.paragraphs.map((p) => p.id), ["Ada", "Sydney University", "Ada (2)", "Melbourne"]);
  assert.deepEqual(m.paragraphs.map((p) => p.supporting), [true, true, false, false]);
  const single = loadQaFile(qa("single.json")).questions;
  assert.deepEqual(single.map((q) => [q.id, q.paragraphs.length]), [["2hop__9", 2]]);
});

test("malformed QA records: InputError with file, line, field; or skipped with reasons", () => {
  assert.throws(
    () => loadQaFile(qa("bad.jsonl")),
    (e: unknown) => e instanceof InputError && e.location.line === 2 && e.location.field === "context[0]" && /bad\.jsonl:2/.test(e.message),
  );
  const r = loadQaFile(qa("bad.jsonl"), { onError: "skip" });
  assert.deepEqual(r.questions.map((q) => q.id), ["b1"]);
  assert.deepEqual(r.report.skipped.map((s) => s.line), [2, 3, 4, 5]);
  assert.match(r.report.skipped[1]!.reason, /_id/);
  assert.match(r.report.skipped[2]!.reason, /is_supporting/);
  assert.match(r.report.skipped[3]!.reason, /supporting_facts/);
});

const bundled = loadQaFiles(BUNDLED_HOTPOTQA_FILES);

test("bundled HotpotQA: 300 complete questions, 10 paragraphs and 2 supporting each", () => {
  assert.equal(bundled.questions.length, 300);
  assert.equal(bundled.report.skipped.length, 0);
  for (const q of bundled.questions) {
    assert.equal(q.paragraphs.length, 10);
    assert.equal(q.paragraphs.filter((p) => p.supporting).length, 2);
  }
});

test("QA splits are disjoint, cover every complete question, and are stable under reordering", () => {
  const s = splitQa(bundled.questions, { seed: 1 });
  const ids = [...s.train, ...s.valid, ...s.test].map((q) => q.id);
  assert.equal(new Set(ids).size, 300);
  const t = splitQa(bundled.questions.slice().reverse(), { seed: 1 });
  assert.deepEqual(t.test.map((q) => q.id), s.test.map((q) => q.id));
  assert.ok(s.test.length > 30 && s.valid.length > 10);
});

for (const distractors of ["bm25", "random"] as const) {
  test(`QA pools (${distractors} distractors): 20 distinct passages, own paragraphs included, relevant = supporting`, () => {
    const s = splitQa(bundled.questions);
    const { examples } = buildQaExamples(s.test, { distractors, maxWords: 20 });
    for (const [i, ex] of examples.entries()) {
      const q = s.test[i]!;
      const ids = ex.pool.map((c) => c.id);
      assert.equal(ids.length, 20);
      assert.equal(new Set(ids).size, 20);
      for (const p of q.paragraphs) assert.ok(ids.includes(p.id));
      assert.deepEqual([...ex.relevant.keys()].sort(), q.paragraphs.filter((p) => p.supporting).map((p) => p.id).sort());
      const ownTitles = new Set(q.paragraphs.map((p) => p.title));
      assert.equal(ids.filter((id) => ownTitles.has(id)).length, 10, "a distractor repeats an own title");
      for (const c of ex.pool) assert.ok(c.text.split(/\s+/).length <= 20 + c.id.split(/\s+/).length, "passage over budget");
      assert.deepEqual(ex.retrieverRank!.slice().sort(), ids.slice().sort());
    }
  });
}

test("QA pools: deterministic per seed, supporting positions spread over the pool", () => {
  const s = splitQa(bundled.questions);
  const a = new QaPoolBuilder(s.train, { seed: 2 });
  const b = new QaPoolBuilder(s.train.slice().reverse(), { seed: 2 });
  const c = new QaPoolBuilder(s.train, { seed: 3 });
  const counts = new Array(20).fill(0);
  let differ = 0;
  for (const q of s.train) {
    const ea = a.build(q);
    assert.deepEqual(ea.pool, b.build(q).pool);
    if (JSON.stringify(ea.pool) !== JSON.stringify(c.build(q).pool)) differ++;
    ea.pool.forEach((p, i) => ea.relevant.has(p.id) && counts[i]++);
  }
  assert.ok(differ > s.train.length * 0.9);
  const expected = (2 * s.train.length) / 20;
  const chi2 = counts.reduce((acc, n) => acc + (n - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 43.8, `chi-square ${chi2.toFixed(1)}: ${counts.join(",")}`);
});

test("the five shared HotpotQA files give 1,588 unique questions", { skip: !hasSharedData && "shared data absent" }, () => {
  const dir = SHARED_DATA + "qa/hotpotqa/";
  const r = loadQaFiles(readdirSync(dir).sort().map((f) => dir + f));
  assert.equal(r.report.files.length, 5);
  assert.equal(r.report.skipped.length, 0);
  assert.equal(r.questions.length, 1588);
  assert.equal(r.report.records, 1700);
  assert.equal(r.questions.filter(isComplete).length, 948);
});
