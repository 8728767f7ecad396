#!/usr/bin/env node
// Makes the bundled demo data under data/ from the shared copies of the public datasets.
// Usage: node scripts/make-bundled-data.mjs [SHARED_DATA_DIR=../shared/data]
// Deterministic: running it again on the same inputs writes byte-identical files.
// See data/SOURCES.md for what it selects and why.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { URL } from "node:url";

const shared = process.argv[2] ?? new URL("../../shared/data", import.meta.url).pathname;
const out = new URL("../data", import.meta.url).pathname;

// ---- Amazon Games: the users whose whole sequence lies within the 3,000 most popular items ----
const TOP_ITEMS = 3000;
const games = join(shared, "rec/amazon-games");
const lines = (f) => readFileSync(join(games, f), "utf8").split("\n").filter((l) => l.trim() !== "");
const testRows = lines("Games-6k.test.inter");
const validRows = lines("Games-6k.valid.inter");
const sequences = new Map();
for (const row of testRows.slice(1)) {
  const [user, hist, target] = row.split("\t");
  sequences.set(user, [...hist.split(" "), target]);
}
const popularity = new Map();
for (const seq of sequences.values()) for (const i of seq) popularity.set(i, (popularity.get(i) ?? 0) + 1);
const top = new Set(
  [...popularity].sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0])).slice(0, TOP_ITEMS).map(([i]) => i),
);
const keptUsers = new Set([...sequences].filter(([, seq]) => seq.every((i) => top.has(i))).map(([u]) => u));
const keptItems = new Set();
for (const u of keptUsers) for (const i of sequences.get(u)) keptItems.add(i);
const keepRows = (rows) => [rows[0], ...rows.slice(1).filter((r) => keptUsers.has(r.split("\t")[0]))];
const itemRows = lines("Games.item");
const sasrec = lines("Games-6k.sasrec")
  .map((r) => r.split("\t"))
  .filter(([u]) => keptUsers.has(u))
  .map(([u, list]) => `${u}\t${list.split(" ").filter((i) => keptItems.has(i)).join(" ")}`);
mkdirSync(join(out, "games"), { recursive: true });
const write = (path, rows) => writeFileSync(join(out, path), rows.join("\n") + "\n");
write("games/Games-3k.test.inter", keepRows(testRows));
write("games/Games-3k.valid.inter", keepRows(validRows));
write("games/Games-3k.item", [itemRows[0], ...itemRows.slice(1).filter((r) => keptItems.has(r.split("\t")[0]))]);
write("games/Games-3k.sasrec", sasrec);
let interactions = 0;
for (const u of keptUsers) interactions += sequences.get(u).length;
console.log(`games: ${keptUsers.size} users (${sasrec.length} with SASRec lists), ${keptItems.size} items, ${interactions} interactions`);

// ---- HotpotQA: 300 questions in the original format, each with both supporting paragraphs ----
const QUESTIONS = 300;
const hotpot = join(shared, "qa/hotpotqa");
const records = [];
const jsonl = (f) => readFileSync(join(hotpot, f), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
for (const r of JSON.parse(readFileSync(join(hotpot, "hipporag_hotpotqa_train100.json"), "utf8"))) records.push([r, "hipporag_hotpotqa_train100.json"]);
for (const f of ["amor_hotpotqa_dev100.jsonl", "amor_hotpotqa_test500.jsonl"]) for (const r of jsonl(f)) records.push([r, f]);
const tts = JSON.parse(readFileSync(join(hotpot, "tts_hotpotqa_sampled500.columnar.json"), "utf8"));
for (const row of Object.keys(tts._1)) {
  records.push([{ _id: tts._1[row], question: tts.question[row], answer: tts.answer[row], type: tts.type[row], level: tts.level[row], supporting_facts: tts.supporting_facts[row], context: tts.context[row] }, "tts_hotpotqa_sampled500.columnar.json"]);
}
const fnv = (s) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};
const byId = new Map();
for (const [r, file] of records) {
  const titles = new Set(r.context.map((c) => c[0]));
  const supporting = [...new Set(r.supporting_facts.map((f) => f[0]))];
  const complete = r.context.length === 10 && supporting.length === 2 && supporting.every((t) => titles.has(t));
  if (!complete || byId.has(r._id)) continue;
  byId.set(r._id, {
    _id: r._id, question: r.question, answer: r.answer, type: r.type, level: r.level,
    // AMOR's copy appends sentences and a retrieved passage to each fact: keep [title, sentence index].
    supporting_facts: r.supporting_facts.flatMap((f) => (Array.isArray(f[1]) ? f[1].map((i) => [f[0], i]) : [[f[0], f[1]]])),
    context: r.context, source: file,
  });
}
const chosen = [...byId.values()].sort((a, b) => fnv(a._id) - fnv(b._id) || (a._id < b._id ? -1 : 1)).slice(0, QUESTIONS);
mkdirSync(join(out, "hotpotqa"), { recursive: true });
write("hotpotqa/hotpotqa-300.jsonl", chosen.map((r) => JSON.stringify(r)));
const bySource = {};
for (const r of chosen) bySource[r.source] = (bySource[r.source] ?? 0) + 1;
console.log(`hotpotqa: ${chosen.length} of ${byId.size} complete unique questions`, bySource);
