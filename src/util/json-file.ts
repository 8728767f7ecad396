import { readFileSync } from "node:fs";
import { InputError } from "./errors.js";

/** Reads a JSON file; syntax errors name the file and, where the parser says where, the line. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read file: ${(e as Error).message}`, { file });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split("\n").length : undefined;
    throw new InputError(`invalid JSON: ${message}`, line === undefined ? { file } : { file, line });
  }
}
