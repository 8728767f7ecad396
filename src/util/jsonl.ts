import { readUtf8File } from "./text-file.js";
import { InputError } from "./errors.js";

/** One parsed line of a JSON Lines file, with its 1-based line number for error messages. */
export interface JsonlRecord {
  line: number;
  value: unknown;
}

/**
 * Reads a JSON Lines file. Blank lines are allowed; a line that is not valid JSON is an
 * InputError naming the file and line.
 */
export function readJsonl(file: string): JsonlRecord[] {
  return parseJsonl(readUtf8File(file), file);
}

export function parseJsonl(text: string, file: string): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "") continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (e) {
      throw new InputError(`invalid JSON: ${(e as Error).message}`, { file, line: i + 1 });
    }
  }
  return out;
}
