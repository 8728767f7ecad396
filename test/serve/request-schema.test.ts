// The request schema shared by `fgrpo rank` and `fgrpo serve`, without a model: both tasks,
// defaults and limits, and messages naming the field (with file and line for rank's files).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRankRequest, requestSchema, type RequestLimits } from "../../src/fgrpo/trainer/request-schema.js";

const layout = { poolSize: 5, nMax: 4, kMax: 3 };
const rec: RequestLimits = { task: "rec", layout };
const qa: RequestLimits = { task: "qa", layout };
const parse = (value: unknown, limits: RequestLimits) => parseRankRequest(value, requestSchema(limits), limits, { file: "req.jsonl", line: 3 });
const pool = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `c${i}`, text: `t${i}` }));

test("defaults: the model's limits capped by the pool, greedy, seed 0, temperature 1", () => {
  const r = parse({ id: "a", history: ["x"], candidates: pool(5) }, rec);
  assert.deepEqual({ nMax: r.nMax, kMax: r.kMax, decoding: r.decoding }, { nMax: 4, kMax: 3, decoding: { greedy: true, seed: 0, temperature: 1 } });
  assert.deepEqual(r.example.history, ["x"]);
  assert.equal(r.example.task, "rec");
  const small = parse({ id: "b", history: [], candidates: [{ id: "only" }] }, rec);
  assert.deepEqual([small.nMax, small.kMax, small.example.pool], [1, 1, [{ id: "only", text: "" }]]);
  const asked = parse({ id: "c", history: [], candidates: pool(5), n_max: 2, k_max: 1, greedy: false, seed: 9, temperature: 0.5 }, rec);
  assert.deepEqual({ nMax: asked.nMax, kMax: asked.kMax, decoding: asked.decoding }, { nMax: 2, kMax: 1, decoding: { greedy: false, seed: 9, temperature: 0.5 } });
});

test("qa requests take a question and no history", () => {
  const r = parse({ id: "q", question: "who?", candidates: pool(2) }, qa);
  assert.equal(r.example.question, "who?");
  assert.equal(r.example.history, undefined);
  assert.throws(() => parse({ id: "q", question: "  ", candidates: pool(2) }, qa), /req\.jsonl:3, field "question": expected a non-empty string/);
  assert.throws(() => parse({ id: "q", candidates: pool(2) }, qa), /field "question": required/);
  assert.throws(() => parse({ id: "q", question: "who?", history: [], candidates: pool(2) }, qa), /field "history": unknown field \(expected id, question, candidates/);
});

test("each problem names its file, line and field", () => {
  const cases: [unknown, RegExp][] = [
    [[], /req\.jsonl:3: expected a JSON object/],
    [{ id: "a", history: [], candidates: pool(6) }, /field "candidates": 6 candidates; this model was trained on pools of at most 5/],
    [{ id: "a", history: [], candidates: [...pool(2), { id: "c1" }] }, /field "candidates\[2\]\.id": duplicate candidate id "c1"/],
    [{ id: "a", history: [], candidates: pool(2), n_max: 5 }, /field "n_max": Too big/],
    [{ id: "a", history: [], candidates: pool(2), k_max: 4 }, /field "k_max": Too big/],
    [{ id: "a", history: [], candidates: pool(2), n_max: 1, k_max: 2 }, /field "k_max": k_max \(2\) exceeds n_max \(1\)/],
    [{ id: "a", histroy: [], candidates: pool(2) }, /field "history": required/],
    [{ id: "a", history: [], candidates: pool(2), histroy: [] }, /field "histroy": unknown field/],
    [{ id: "a", history: [1], candidates: pool(2) }, /field "history\[0\]"/],
  ];
  for (const [value, pattern] of cases) assert.throws(() => parse(value, rec), pattern);
});
