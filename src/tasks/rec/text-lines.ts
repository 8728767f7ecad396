import { readFileSync } from "node:fs";
import { InputError } from "../../util/errors.js";
import { readUtf8File } from "../../util/text-file.js";

/** One non-blank line of a text file with its 1-based line number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * Reads a text file as numbered, non-blank lines (CRLF tolerated). MovieLens' own files are
 * Latin-1, so the encoding is a parameter.
 */
export function readLines(file: string, encoding: BufferEncoding = "utf8"): NumberedLine[] {
  let text: string;
  if (encoding === "utf8") text = readUtf8File(file);
  else {
    try {
      text = readFileSync(file, encoding);
    } catch (e) {
      throw new InputError(`cannot read file: ${(e as Error).message}`, { file });
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: NumberedLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "") out.push({ line: i + 1, text: lines[i]! });
  }
  return out;
}
