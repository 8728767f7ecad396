import { readUtf8File } from "../../util/text-file.js";
import { InputError } from "../../util/errors.js";

/** One record of a JSON-ish file and where it starts (1-based line), for messages. */
export interface JsonRecord {
  line: number;
  /** Set for columnar files, where many records share line 1: names the row. */
  row?: string;
  value: unknown;
}

/**
 * Reads the container formats HotpotQA copies come in: a JSON array (original release), JSON
 * Lines (one record per line), or a columnar object `{field: {row: value}}` (pandas
 * `to_json()` as in the TTS copy), which is turned back into records.
 */
export function readJsonRecords(file: string): JsonRecord[] {
  const text = readUtf8File(file);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    let arr: unknown[];
    try {
      arr = JSON.parse(text) as unknown[];
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { file });
    }
    const lines = arrayElementLines(text);
    return arr.map((value, i) => ({ line: lines[i] ?? 1, value }));
  }
  const whole = tryParse(text);
  if (isColumnar(whole)) return fromColumnar(whole);
  // A single JSON object (one record, possibly pretty-printed); several lines of objects fail `whole` and are JSONL.
  if (whole !== undefined) return [{ line: 1, value: whole }];
  return parseLines(text, file);
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseLines(text: string, file: string): JsonRecord[] {
  const out: JsonRecord[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === "") return;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { file, line: i + 1 });
    }
  });
  return out;
}

type Columnar = Record<string, Record<string, unknown>>;

/** Columnar: an object whose values are all row-keyed objects and that has a question column. */
function isColumnar(v: unknown): v is Columnar {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const cols = Object.values(v as object);
  return cols.length > 1 && cols.every((c) => c !== null && typeof c === "object" && !Array.isArray(c)) && "question" in (v as object);
}

function fromColumnar(v: Columnar): JsonRecord[] {
  const rows = Object.keys(v.question!);
  return rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (const [field, column] of Object.entries(v)) if (row in column) record[field] = column[row];
    return { line: 1, row, value: record };
  });
}

/** Line numbers where each top-level element of a JSON array starts (a small scanner that respects strings). */
function arrayElementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0, line = 1, inString = false, expectingElement = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\n") line++;
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (depth === 1 && expectingElement && !/\s/.test(ch) && ch !== "]") {
      out.push(line);
      expectingElement = false;
    }
    if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") {
      depth++;
      if (depth === 1) expectingElement = true;
    } else if (ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 1) expectingElement = true;
  }
  return out;
}
