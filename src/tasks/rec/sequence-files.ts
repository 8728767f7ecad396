import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readJsonl } from "../../util/jsonl.js";
import { ReportBuilder } from "../load-report.js";
import type { OnError } from "../types.js";
import type { RecDataset } from "./dataset.js";
import { readLines } from "./text-lines.js";

export interface SequenceLoadOptions {
  onError?: OnError;
}

/**
 * One line per user, `user item1 item2 …` in time order (SASRec / S3Rec style, e.g. Amazon
 * `Beauty.txt`). No titles.
 */
export function loadSequenceLines(file: string, opts: SequenceLoadOptions = {}): RecDataset {
  const rb = new ReportBuilder(opts.onError);
  rb.file(file);
  const sequences = new Map<string, string[]>();
  for (const { line, text } of readLines(file)) {
    const [user, ...items] = text.trim().split(/\s+/);
    if (items.length === 0) { rb.bad(file, line, "a user line needs at least one item", "items"); continue; }
    if (sequences.has(user!)) { rb.bad(file, line, `duplicate user "${user}"`, "user"); continue; }
    sequences.set(user!, items);
    rb.ok();
  }
  return { name: basename(file), sequences, titles: new Map(), report: rb.report };
}

export interface MovieLensOptions extends SequenceLoadOptions {
  /** Keep only ratings ≥ this (implicit feedback from explicit ratings). Default 0: keep all. */
  minRating?: number;
}

/**
 * MovieLens ratings: `ratings.dat` (`user::item::rating::timestamp`, ML-1M/10M) or `u.data`
 * (tab-separated, ML-100K). Each user's items are ordered by timestamp (ties keep file order).
 * Titles come from `movies.dat` (`item::title::genres`) or `u.item` (`item|title|…`) next to it,
 * when present. MovieLens forbids redistribution: the project ships none of it.
 */
export function loadMovieLens(file: string, opts: MovieLensOptions = {}): RecDataset {
  const rb = new ReportBuilder(opts.onError);
  rb.file(file);
  const minRating = opts.minRating ?? 0;
  const rows = new Map<string, { item: string; ts: number }[]>();
  for (const { line, text } of readLines(file, "latin1")) {
    const f = text.includes("::") ? text.split("::") : text.split("\t");
    if (f.length < 4) { rb.bad(file, line, `expected user, item, rating, timestamp; got ${f.length} field(s)`, "line"); continue; }
    const [user, item, ratingText, tsText] = f.map((s) => s.trim());
    const rating = Number(ratingText), ts = Number(tsText);
    if (!user) { rb.bad(file, line, "missing user id", "user"); continue; }
    if (!item) { rb.bad(file, line, "missing item id", "item"); continue; }
    if (ratingText === "" || !Number.isFinite(rating)) { rb.bad(file, line, `rating "${ratingText}" is not a number`, "rating"); continue; }
    if (tsText === "" || !Number.isFinite(ts)) { rb.bad(file, line, `timestamp "${tsText}" is not a number`, "timestamp"); continue; }
    rb.ok();
    if (rating < minRating) continue;
    let list = rows.get(user!);
    if (!list) rows.set(user!, (list = []));
    list.push({ item: item!, ts });
  }
  const sequences = new Map([...rows].map(([u, list]) => [u, list.sort((a, b) => a.ts - b.ts).map((r) => r.item)]));
  return { name: basename(dirname(file)) || basename(file), sequences, titles: readMovieLensTitles(dirname(file), rb), report: rb.report };
}

function readMovieLensTitles(dir: string, rb: ReportBuilder): Map<string, string> {
  const titles = new Map<string, string>();
  for (const [name, sep] of [["movies.dat", "::"], ["u.item", "|"]] as const) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    rb.file(file);
    for (const { line, text } of readLines(file, "latin1")) {
      const f = text.split(sep);
      if (f.length < 2 || !f[0]!.trim()) { rb.bad(file, line, "expected item id and title", "title"); continue; }
      titles.set(f[0]!.trim(), f[1]!.trim());
    }
  }
  return titles;
}

/**
 * The JSON Lines format for users' own data. Each line is one of:
 * - `{"user": "u1", "items": ["i1", "i2", …]}`: a user's sequence, oldest first; an optional
 *   `"candidates": [...]` holds that user's first-stage retriever list, best first;
 * - `{"item": "i1", "title": "…"}`: an item title.
 * Ids may be strings or integers (stored as strings).
 */
export function loadRecJsonl(file: string, opts: SequenceLoadOptions = {}): RecDataset {
  const rb = new ReportBuilder(opts.onError);
  rb.file(file);
  const sequences = new Map<string, string[]>();
  const titles = new Map<string, string>();
  const candidates = new Map<string, string[]>();
  for (const { line, value } of readJsonl(file)) {
    const v = value as Record<string, unknown>;
    if (v === null || typeof v !== "object" || Array.isArray(v)) { rb.bad(file, line, "expected a JSON object", "line"); continue; }
    if ("title" in v && !("user" in v)) {
      if (!isId(v.item)) { rb.bad(file, line, "item id must be a string or an integer", "item"); continue; }
      if (typeof v.title !== "string") { rb.bad(file, line, "title must be a string", "title"); continue; }
      titles.set(String(v.item), v.title);
      continue;
    }
    if (!isId(v.user)) { rb.bad(file, line, "user id must be a string or an integer", "user"); continue; }
    if (!Array.isArray(v.items) || v.items.length === 0 || !v.items.every(isId)) { rb.bad(file, line, "items must be a non-empty array of ids", "items"); continue; }
    if (v.candidates !== undefined && (!Array.isArray(v.candidates) || !v.candidates.every(isId))) { rb.bad(file, line, "candidates must be an array of ids", "candidates"); continue; }
    const user = String(v.user);
    if (sequences.has(user)) { rb.bad(file, line, `duplicate user "${user}"`, "user"); continue; }
    sequences.set(user, v.items.map(String));
    if (Array.isArray(v.candidates)) candidates.set(user, v.candidates.map(String));
    rb.ok();
  }
  const data: RecDataset = { name: basename(file), sequences, titles, report: rb.report };
  if (candidates.size > 0) Object.assign(data, { candidates, candidateSource: basename(file) });
  return data;
}

function isId(v: unknown): v is string | number {
  return (typeof v === "string" && v !== "") || (typeof v === "number" && Number.isInteger(v));
}
