import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError } from "../../util/errors.js";
import { ReportBuilder } from "../load-report.js";
import type { OnError } from "../types.js";
import type { RecDataset } from "./dataset.js";
import { readLines, type NumberedLine } from "./text-lines.js";

/**
 * Loader for RecBole atomic files as LLMRank ships them (Amazon Games):
 * - `<name>.item`: header `item_id:token\ttitle:token_seq`, then one item per line;
 * - `<name>.test.inter`: header `user_id:token\titem_id_list:token_seq\titem_id:token`, one user
 *   per line, history (space-separated, oldest first) and target. The full sequence of a user is
 *   the test history followed by the test target;
 * - `<name>.valid.inter` (optional): the same one step earlier. It carries no new information,
 *   so it is only checked: valid history + valid target must equal the test history;
 * - a plain `<name>.inter` (`user_id`, `item_id`, `timestamp` columns) instead of the test file;
 * - `<name>.<retriever>` candidate files (`user\t100 ids`, best first), e.g. `Games-6k.sasrec`.
 */
export interface RecBoleOptions {
  /** Extension of the candidate file to read (`sasrec`, `random`), or null for none. Default: `sasrec` when present. */
  candidates?: string | null;
  onError?: OnError;
}

export function loadRecBoleDir(dir: string, opts: RecBoleOptions = {}): RecDataset {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new InputError(`cannot read directory: ${(e as Error).message}`, { file: dir });
  }
  const pick = (suffix: string) => names.filter((n) => n.endsWith(suffix)).map((n) => join(dir, n));
  const rb = new ReportBuilder(opts.onError);
  const testFiles = pick(".test.inter");
  const plainFiles = names.filter((n) => n.endsWith(".inter") && !/\.(train|valid|test)\.inter$/.test(n)).map((n) => join(dir, n));
  let sequences: Map<string, string[]>;
  if (testFiles.length === 1) {
    sequences = readSplitInter(testFiles[0]!, rb);
    for (const v of pick(".valid.inter")) checkValidInter(v, sequences, rb);
  } else if (testFiles.length === 0 && plainFiles.length === 1) {
    sequences = readPlainInter(plainFiles[0]!, rb);
  } else {
    throw new InputError(`expected exactly one *.test.inter (or one plain *.inter) file, found ${testFiles.length + plainFiles.length}`, { file: dir });
  }
  const titles = new Map<string, string>();
  for (const f of pick(".item")) readItemFile(f, titles, rb);
  const ext = opts.candidates === undefined ? "sasrec" : opts.candidates;
  const candidateFiles = ext === null ? [] : pick(`.${ext}`);
  if (opts.candidates && candidateFiles.length === 0) throw new InputError(`no *.${ext} candidate file`, { file: dir });
  const data: RecDataset = { name: basename(dir), sequences, titles, report: rb.report };
  if (candidateFiles.length > 0) {
    data.candidates = readCandidateFile(candidateFiles[0]!, sequences, rb);
    data.candidateSource = basename(candidateFiles[0]!);
  }
  return data;
}

/** Splits a RecBole header (`name:type` per column) and returns the column index of each name. */
function headerColumns(file: string, first: NumberedLine | undefined, required: string[]): Map<string, number> {
  if (!first) throw new InputError("empty file", { file });
  const cols = new Map(first.text.split("\t").map((h, i) => [h.split(":")[0]!.trim(), i]));
  for (const r of required) {
    if (!cols.has(r)) throw new InputError(`header has no "${r}" column (got "${first.text}")`, { file, line: first.line, field: r });
  }
  return cols;
}

function readSplitInter(file: string, rb: ReportBuilder): Map<string, string[]> {
  rb.file(file);
  const lines = readLines(file);
  const cols = headerColumns(file, lines[0], ["user_id", "item_id_list", "item_id"]);
  const [cu, ch, ct] = [cols.get("user_id")!, cols.get("item_id_list")!, cols.get("item_id")!];
  const out = new Map<string, string[]>();
  for (const { line, text } of lines.slice(1)) {
    const f = text.split("\t");
    const user = f[cu]?.trim(), hist = f[ch]?.trim(), target = f[ct]?.trim();
    if (!user) { rb.bad(file, line, "missing user id", "user_id"); continue; }
    if (!target) { rb.bad(file, line, "missing target item", "item_id"); continue; }
    if (hist === undefined) { rb.bad(file, line, "missing history column", "item_id_list"); continue; }
    if (out.has(user)) { rb.bad(file, line, `duplicate user "${user}"`, "user_id"); continue; }
    out.set(user, [...(hist === "" ? [] : hist.split(/\s+/)), target]);
    rb.ok();
  }
  return out;
}

/** Valid rows must be the test sequence one step earlier; a mismatch means the files do not belong together. */
function checkValidInter(file: string, sequences: Map<string, string[]>, rb: ReportBuilder): void {
  rb.file(file);
  const lines = readLines(file);
  const cols = headerColumns(file, lines[0], ["user_id", "item_id_list", "item_id"]);
  for (const { line, text } of lines.slice(1)) {
    const f = text.split("\t");
    const user = f[cols.get("user_id")!]?.trim() ?? "";
    const seq = sequences.get(user);
    if (!seq) { rb.bad(file, line, `user "${user}" is not in the test file`, "user_id"); continue; }
    const hist = (f[cols.get("item_id_list")!] ?? "").trim();
    const valid = [...(hist === "" ? [] : hist.split(/\s+/)), (f[cols.get("item_id")!] ?? "").trim()];
    const expected = seq.slice(0, -1);
    if (valid.length !== expected.length || valid.some((v, i) => v !== expected[i])) {
      rb.bad(file, line, `valid sequence of user "${user}" is not the test history`, "item_id_list");
    }
  }
}

/** A plain RecBole interaction file: one interaction per row, ordered by timestamp per user. */
function readPlainInter(file: string, rb: ReportBuilder): Map<string, string[]> {
  rb.file(file);
  const lines = readLines(file);
  const cols = headerColumns(file, lines[0], ["user_id", "item_id"]);
  const cts = cols.get("timestamp");
  const rows = new Map<string, { item: string; ts: number }[]>();
  for (const { line, text } of lines.slice(1)) {
    const f = text.split("\t");
    const user = f[cols.get("user_id")!]?.trim(), item = f[cols.get("item_id")!]?.trim();
    if (!user) { rb.bad(file, line, "missing user id", "user_id"); continue; }
    if (!item) { rb.bad(file, line, "missing item id", "item_id"); continue; }
    const ts = cts === undefined ? 0 : Number(f[cts]);
    if (!Number.isFinite(ts)) { rb.bad(file, line, `timestamp "${f[cts!]}" is not a number`, "timestamp"); continue; }
    let list = rows.get(user);
    if (!list) rows.set(user, (list = []));
    list.push({ item, ts });
    rb.ok();
  }
  // Array.prototype.sort is stable: same-timestamp interactions keep file order.
  return new Map([...rows].map(([u, list]) => [u, list.sort((a, b) => a.ts - b.ts).map((r) => r.item)]));
}

function readItemFile(file: string, titles: Map<string, string>, rb: ReportBuilder): void {
  rb.file(file);
  const lines = readLines(file);
  const cols = headerColumns(file, lines[0], ["item_id"]);
  const ct = cols.get("title") ?? cols.get("movie_title");
  if (ct === undefined) return;
  for (const { line, text } of lines.slice(1)) {
    const f = text.split("\t");
    const id = f[cols.get("item_id")!]?.trim();
    if (!id) { rb.bad(file, line, "missing item id", "item_id"); continue; }
    const title = (f[ct] ?? "").trim();
    if (title !== "") titles.set(id, title);
  }
}

/** `user\tid id id …` per line, best first. Users absent from the sequences are bad records. */
export function readCandidateFile(file: string, sequences: Map<string, string[]>, rb: ReportBuilder): Map<string, string[]> {
  rb.file(file);
  const out = new Map<string, string[]>();
  for (const { line, text } of readLines(file)) {
    const [user, list] = text.split("\t").map((s) => s.trim());
    if (!user || list === undefined || list === "") { rb.bad(file, line, "expected `user<TAB>item item …`", "candidates"); continue; }
    if (!sequences.has(user)) { rb.bad(file, line, `user "${user}" has no sequence`, "user"); continue; }
    if (out.has(user)) { rb.bad(file, line, `duplicate user "${user}"`, "user"); continue; }
    out.set(user, list.split(/\s+/));
  }
  return out;
}
