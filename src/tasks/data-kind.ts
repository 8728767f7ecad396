/**
 * Recognises a data file handed to the wrong task (QA pointed at recommendation data, or rec at
 * QA data), from the start of the file, so the error says what the file is and which task reads
 * it. QA only asks after its loader refused a file (valid QA data never depends on the guess);
 * rec asks up front, since its sequence format would read JSON lines as users.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { InputError } from "../util/errors.js";

const PEEK_BYTES = 64 * 1024;

/** The first bytes of a file as text ("" for folders and unreadable files). */
function head(file: string): string {
  try {
    if (!statSync(file).isFile()) return "";
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(PEEK_BYTES);
      const n = readSync(fd, buf, 0, PEEK_BYTES, 0);
      return buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/** What kind of recommendation data the file looks like, or null. */
export function recKindOf(file: string): string | null {
  const first = head(file).split(/\r?\n/).find((l) => l.trim() !== "")?.trim() ?? "";
  if (/^user_id:token\b/.test(first)) return "RecBole atomic (.inter) recommendation data";
  if (first.startsWith("{")) {
    try {
      const v = JSON.parse(first) as Record<string, unknown>;
      if (v !== null && typeof v === "object" && Array.isArray(v.items) && !("question" in v)) return 'recommendation JSONL ({"user", "items"} records)';
    } catch {
      return null;
    }
    return null;
  }
  // MovieLens ratings (user item rating time, tab or :: separated) or one user per line (user item item …).
  if (/^\d+(\t\d+){2,3}$/.test(first) || /^\d+::\d+::/.test(first)) return "MovieLens ratings (recommendation data)";
  if (/^\S+( \S+)+$/.test(first) && !/[{}[\]"]/.test(first)) return "a recommendation sequence file (a user and their items on each line)";
  return null;
}

/** Whether the file starts like multi-hop QA records (HotpotQA, 2Wiki, MuSiQue, IRCoT). */
export function looksLikeQa(file: string): boolean {
  const text = head(file).trimStart();
  return (text.startsWith("{") || text.startsWith("[")) && /"(question|question_text|supporting_facts)"\s*:/.test(text);
}

/** QA was given this file: the error when it is recommendation data, else null. */
export function recDataForQa(file: string): InputError | null {
  const kind = recKindOf(file);
  return kind === null ? null : new InputError(`this is ${kind}, not QA data: task qa expects multi-hop QA records (JSON with question, context and supporting_facts, as HotpotQA); for this file set the task to rec (--task rec, or "task": {"task": "rec"})`, { file });
}

/** Rec was given this file: the error when it is QA data, else null. */
export function qaDataForRec(file: string): InputError | null {
  return looksLikeQa(file) ? new InputError('this is multi-hop QA data (JSON records with a question), not recommendation data: task rec expects RecBole .inter files, a sequence file (a user and their items on each line), MovieLens ratings or JSONL {"user", "items"} records; for this file set the task to qa (--task qa, or "task": {"task": "qa"})', { file }) : null;
}
