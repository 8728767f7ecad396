import { basename } from "node:path";
import { mergeReports, ReportBuilder } from "../load-report.js";
import type { LoadReport, OnError } from "../types.js";
import { readJsonRecords, type JsonRecord } from "./json-records.js";
import { isComplete, type QaParagraph, type QaQuestion } from "./types.js";

/**
 * Loaders for multi-hop QA with paragraph-level supervision. Each record is recognised by shape:
 * - HotpotQA / 2WikiMultihopQA original: `_id` (or `id`; the TTS copy keeps it in `_1`),
 *   `question`, `answer`, `supporting_facts [[title, sent_idx], …]`, `context [[title, [sentences]], …]`;
 * - IRCoT: `question_id`, `question_text`, `answers_objects`, `contexts [{title, paragraph_text, is_supporting}]`;
 * - MuSiQue: `id`, `question`, `answer`, `paragraphs [{idx, title, paragraph_text, is_supporting}]`.
 * Containers: JSON array, JSON Lines, or columnar JSON (see readJsonRecords).
 */
export interface QaLoadOptions {
  /** Dataset name stored on each question. Default: from the record shape / file name. */
  dataset?: string;
  onError?: OnError;
}

export interface QaLoadResult {
  /** Deduplicated by id; when a question occurs in several files the most complete copy wins. */
  questions: QaQuestion[];
  report: LoadReport;
  /** Records that were repeats of an id already loaded. */
  duplicates: number;
}

export function loadQaFile(file: string, opts: QaLoadOptions = {}): { questions: QaQuestion[]; report: LoadReport } {
  const rb = new ReportBuilder(opts.onError);
  rb.file(file);
  const questions: QaQuestion[] = [];
  for (const rec of readJsonRecords(file)) {
    const q = parseQaRecord(rec, file, rb, opts.dataset);
    if (q) {
      questions.push(q);
      rb.ok();
    }
  }
  return { questions, report: rb.report };
}

/** Loads several files and deduplicates by question id (a complete copy beats one missing supporting paragraphs). */
export function loadQaFiles(files: readonly string[], opts: QaLoadOptions = {}): QaLoadResult {
  const byId = new Map<string, QaQuestion>();
  const reports: LoadReport[] = [];
  let duplicates = 0;
  for (const file of files) {
    const { questions, report } = loadQaFile(file, opts);
    reports.push(report);
    for (const q of questions) {
      const prev = byId.get(q.id);
      if (prev) {
        duplicates++;
        if (better(q, prev)) byId.set(q.id, q);
      } else byId.set(q.id, q);
    }
  }
  return { questions: [...byId.values()], report: mergeReports(reports), duplicates };
}

function better(a: QaQuestion, b: QaQuestion): boolean {
  if (isComplete(a) !== isComplete(b)) return isComplete(a);
  if (a.missingSupporting.length !== b.missingSupporting.length) return a.missingSupporting.length < b.missingSupporting.length;
  return a.paragraphs.length > b.paragraphs.length;
}

type Obj = Record<string, unknown>;

function parseQaRecord(rec: JsonRecord, file: string, rb: ReportBuilder, dataset?: string): QaQuestion | null {
  const v = rec.value as Obj;
  const where = (field: string) => (rec.row !== undefined ? `${field} (row ${rec.row})` : field);
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    rb.bad(file, rec.line, "expected a JSON object", where("record"));
    return null;
  }
  const id = firstString(v, ["_1", "_id", "question_id", "id"]);
  if (id === undefined) return fail(rb, file, rec, "no question id (_id, id or question_id)", where("_id"));
  const question = firstString(v, ["question", "question_text"]);
  if (question === undefined) return fail(rb, file, rec, "missing question text", where("question"));
  const source = `${basename(file)}:${rec.line}${rec.row !== undefined ? `#${rec.row}` : ""}`;
  if (Array.isArray(v.context)) return fromOriginal(v, id, question, source, file, rec, rb, where, dataset ?? "hotpotqa");
  const list = v.contexts ?? v.paragraphs;
  if (Array.isArray(list)) return fromParagraphList(v, list, id, question, source, file, rec, rb, where, dataset ?? ("paragraphs" in v ? "musique" : "hotpotqa"));
  return fail(rb, file, rec, "no context, contexts or paragraphs field", where("context"));
}

function fromOriginal(v: Obj, id: string, question: string, source: string, file: string, rec: JsonRecord, rb: ReportBuilder, where: (f: string) => string, dataset: string): QaQuestion | null {
  const paragraphs: { title: string; text: string }[] = [];
  for (const [i, c] of (v.context as unknown[]).entries()) {
    if (!Array.isArray(c) || typeof c[0] !== "string" || !Array.isArray(c[1]) || !c[1].every((s) => typeof s === "string")) {
      return fail(rb, file, rec, "expected [title, [sentences]]", where(`context[${i}]`));
    }
    paragraphs.push({ title: c[0], text: joinSentences(c[1] as string[]) });
  }
  if (!Array.isArray(v.supporting_facts)) return fail(rb, file, rec, "expected a list of [title, sentence index]", where("supporting_facts"));
  const supporting = new Set<string>();
  for (const [i, f] of v.supporting_facts.entries()) {
    // AMOR's copy appends the sentences and a retrieved passage to each fact; only the title matters here.
    if (!Array.isArray(f) || typeof f[0] !== "string") return fail(rb, file, rec, "expected [title, sentence index]", where(`supporting_facts[${i}]`));
    supporting.add(f[0]);
  }
  const titles = new Set(paragraphs.map((p) => p.title));
  return {
    id, dataset, question, answer: answerOf(v), source,
    paragraphs: withIds(paragraphs.map((p) => ({ ...p, supporting: supporting.has(p.title) }))),
    missingSupporting: [...supporting].filter((t) => !titles.has(t)),
  };
}

function fromParagraphList(v: Obj, list: unknown[], id: string, question: string, source: string, file: string, rec: JsonRecord, rb: ReportBuilder, where: (f: string) => string, dataset: string): QaQuestion | null {
  const field = "contexts" in v ? "contexts" : "paragraphs";
  const paragraphs: Omit<QaParagraph, "id">[] = [];
  for (const [i, p] of list.entries()) {
    const o = p as Obj;
    if (o === null || typeof o !== "object" || typeof o.title !== "string" || typeof o.paragraph_text !== "string") {
      return fail(rb, file, rec, "expected {title, paragraph_text, is_supporting}", where(`${field}[${i}]`));
    }
    if (o.is_supporting !== undefined && typeof o.is_supporting !== "boolean") return fail(rb, file, rec, "is_supporting must be a boolean", where(`${field}[${i}].is_supporting`));
    paragraphs.push({ title: o.title, text: o.paragraph_text.replace(/\s+/g, " ").trim(), supporting: o.is_supporting === true });
  }
  return { id, dataset, question, answer: answerOf(v), source, paragraphs: withIds(paragraphs), missingSupporting: [] };
}

function fail(rb: ReportBuilder, file: string, rec: JsonRecord, reason: string, field: string): null {
  rb.bad(file, rec.line, reason, field);
  return null;
}

/** HotpotQA sentences carry their own leading spaces in some copies and not in others. */
function joinSentences(sentences: string[]): string {
  return sentences.join(" ").replace(/\s+/g, " ").trim();
}

function withIds(paragraphs: Omit<QaParagraph, "id">[]): QaParagraph[] {
  const seen = new Map<string, number>();
  return paragraphs.map((p) => {
    const n = (seen.get(p.title) ?? 0) + 1;
    seen.set(p.title, n);
    return { id: n === 1 ? p.title : `${p.title} (${n})`, ...p };
  });
}

function firstString(v: Obj, keys: string[]): string | undefined {
  for (const k of keys) {
    const x = v[k];
    if (typeof x === "string" && x !== "") return x;
    if (typeof x === "number") return String(x);
  }
  return undefined;
}

function answerOf(v: Obj): string | undefined {
  if (typeof v.answer === "string") return v.answer;
  const objs = v.answers_objects as { spans?: unknown[] }[] | undefined;
  const span = Array.isArray(objs) ? objs[0]?.spans?.[0] : undefined;
  return typeof span === "string" ? span : undefined;
}
