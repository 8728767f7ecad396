/**
 * RUN and GOLD files. Each file's format is detected from its first non-blank line: a line that
 * starts with "{" means JSON Lines, anything else means the whitespace-separated TREC formats.
 *
 * RUN, JSONL:   {"id": "q1", "ranking": ["d3", "d1"], "slate": ["d1", "d3", "d7"]}   (slate optional)
 * RUN, TREC:    q1 Q0 d3 1 12.5 tag     ordered by score descending, then rank ascending
 *               (trec_eval itself breaks score ties by docno; we follow the file's ranks)
 * GOLD, JSONL:  {"id": "q1", "relevant": {"d1": 2, "d7": 1}}   or "relevant": ["d1", "d7"] (grade 1)
 * GOLD, qrels:  q1 0 d1 2
 *
 * Ids may be JSON strings or integers (integers become their decimal string). Every malformed
 * line is an InputError naming the file, the line and the field.
 */
import { writeFileAtomic } from "../util/atomic-write.js";
import { readUtf8File } from "../util/text-file.js";
import { InputError } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";
import type { Grades, QueryRun } from "./metrics.js";

function readText(file: string): string {
  return readUtf8File(file);
}

function isJsonl(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "");
  return first !== undefined && first.trim().startsWith("{");
}

/** Non-blank lines of a whitespace-separated file, split into columns, with 1-based line numbers. */
function columns(text: string): { line: number; cols: string[] }[] {
  const out: { line: number; cols: string[] }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed !== "") out.push({ line: i + 1, cols: trimmed.split(/\s+/) });
  });
  return out;
}

function idField(value: unknown, where: { file: string; line: number; field: string }): string {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  throw new InputError(`expected a non-empty string or integer id, got ${JSON.stringify(value)}`, where);
}

function idList(value: unknown, where: { file: string; line: number; field: string }): string[] {
  if (!Array.isArray(value)) throw new InputError(`expected an array of ids, got ${JSON.stringify(value)}`, where);
  return value.map((v, i) => idField(v, { ...where, field: `${where.field}[${i}]` }));
}

function asObject(value: unknown, file: string, line: number): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError("expected a JSON object", { file, line });
  }
  return value as Record<string, unknown>;
}

/** Reads a RUN file (JSONL or TREC run) into query id → ranking (and slate when present). */
export function readRunFile(file: string): Map<string, QueryRun> {
  const text = readText(file);
  const runs = new Map<string, QueryRun>();
  if (isJsonl(text)) {
    for (const { line, value } of parseJsonl(text, file)) {
      const obj = asObject(value, file, line);
      const id = idField(obj.id, { file, line, field: "id" });
      if (runs.has(id)) throw new InputError(`duplicate query id "${id}"`, { file, line, field: "id" });
      const ranking = idList(obj.ranking, { file, line, field: "ranking" });
      const run: QueryRun = { id, ranking };
      if (obj.slate !== undefined) run.slate = idList(obj.slate, { file, line, field: "slate" });
      runs.set(id, run);
    }
    return runs;
  }
  const rows = new Map<string, { doc: string; rank: number; score: number }[]>();
  for (const { line, cols } of columns(text)) {
    if (cols.length !== 6) {
      throw new InputError(`expected 6 columns "qid Q0 docid rank score tag", got ${cols.length}`, { file, line });
    }
    const [qid, , doc, rankText, scoreText] = cols as [string, string, string, string, string];
    const rank = Number(rankText);
    if (!Number.isInteger(rank)) throw new InputError(`rank must be an integer, got "${rankText}"`, { file, line, field: "rank" });
    const score = Number(scoreText);
    if (!Number.isFinite(score)) throw new InputError(`score must be a number, got "${scoreText}"`, { file, line, field: "score" });
    let list = rows.get(qid);
    if (list === undefined) rows.set(qid, (list = []));
    list.push({ doc, rank, score });
  }
  for (const [qid, list] of rows) {
    list.sort((x, y) => y.score - x.score || x.rank - y.rank);
    runs.set(qid, { id: qid, ranking: list.map((r) => r.doc) });
  }
  return runs;
}

function grade(value: unknown, where: { file: string; line: number; field: string }): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new InputError(`expected a numeric grade, got ${JSON.stringify(value)}`, where);
}

/** Reads a GOLD file (JSONL or TREC qrels) into query id → (doc id → grade). */
export function readGoldFile(file: string): Map<string, Map<string, number>> {
  const text = readText(file);
  const gold = new Map<string, Map<string, number>>();
  if (isJsonl(text)) {
    for (const { line, value } of parseJsonl(text, file)) {
      const obj = asObject(value, file, line);
      const id = idField(obj.id, { file, line, field: "id" });
      if (gold.has(id)) throw new InputError(`duplicate query id "${id}"`, { file, line, field: "id" });
      const grades = new Map<string, number>();
      const rel = obj.relevant;
      if (Array.isArray(rel)) {
        for (const doc of idList(rel, { file, line, field: "relevant" })) grades.set(doc, 1);
      } else if (typeof rel === "object" && rel !== null) {
        for (const [doc, g] of Object.entries(rel)) grades.set(doc, grade(g, { file, line, field: `relevant.${doc}` }));
      } else {
        throw new InputError('expected an object {"docid": grade} or an array of doc ids', { file, line, field: "relevant" });
      }
      gold.set(id, grades);
    }
    return gold;
  }
  for (const { line, cols } of columns(text)) {
    if (cols.length !== 4) throw new InputError(`expected 4 columns "qid 0 docid rel", got ${cols.length}`, { file, line });
    const [qid, , doc, relText] = cols as [string, string, string, string];
    const g = Number(relText);
    if (!Number.isInteger(g)) throw new InputError(`relevance must be an integer, got "${relText}"`, { file, line, field: "rel" });
    let grades = gold.get(qid);
    if (grades === undefined) gold.set(qid, (grades = new Map()));
    const previous = grades.get(doc);
    if (previous !== undefined && previous !== g) {
      throw new InputError(`document "${doc}" of query "${qid}" is judged twice (${previous} and ${g})`, { file, line, field: "rel" });
    }
    grades.set(doc, g);
  }
  return gold;
}

/** Writes runs as JSONL (one query per line, in iteration order). */
export function writeRunJsonl(file: string, runs: ReadonlyMap<string, QueryRun> | Iterable<QueryRun>): void {
  const list = runs instanceof Map ? [...runs.values()] : [...(runs as Iterable<QueryRun>)];
  const lines = list.map((r) => JSON.stringify(r.slate === undefined ? { id: r.id, ranking: r.ranking } : { id: r.id, ranking: r.ranking, slate: r.slate }));
  writeFileAtomic(file, lines.map((l) => l + "\n").join(""));
}

/** Writes gold judgments as JSONL {"id", "relevant": {doc: grade}}. */
export function writeGoldJsonl(file: string, gold: ReadonlyMap<string, Grades>): void {
  const lines = [...gold].map(([id, grades]) => JSON.stringify({ id, relevant: Object.fromEntries(grades) }));
  writeFileAtomic(file, lines.map((l) => l + "\n").join(""));
}
