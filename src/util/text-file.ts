/**
 * Reading a text file as UTF-8, strictly. Node's lenient decoding turns every invalid byte into
 * U+FFFD, so the Latin-1 ids "café" and "cafè" would both become "caf\uFFFD" and two items would
 * silently merge. A file that is not valid UTF-8 is refused, naming its first bad line.
 */
import { readFileSync } from "node:fs";
import { InputError } from "./errors.js";

const strict = new TextDecoder("utf-8", { fatal: true });

export function readUtf8File(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read file: ${(e as Error).message}`, { file });
  }
  try {
    return strict.decode(bytes);
  } catch {
    throw new InputError("not valid UTF-8 (a Latin-1 file? convert it, e.g. iconv -f latin1 -t utf-8); refused so that distinct ids are not merged", { file, line: firstBadLine(bytes) });
  }
}

function firstBadLine(bytes: Buffer): number {
  let line = 1, start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line += 1;
      start = i + 1;
    }
  }
  return line;
}
