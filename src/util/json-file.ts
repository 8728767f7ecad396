import { readUtf8File } from "./text-file.js";
import { InputError } from "./errors.js";

/** Reads a JSON file; syntax errors name the file and, where the parser says where, the line. */
export function readJsonFile(file: string): unknown {
  const text = readUtf8File(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split("\n").length : undefined;
    throw new InputError(`invalid JSON: ${message}`, line === undefined ? { file } : { file, line });
  }
  const depth = jsonDepth(value, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) throw new InputError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { file });
  return value;
}

/** Deeper JSON is refused: code that walks a value recursively (validation, cloning) would overflow the stack. */
export const MAX_JSON_DEPTH = 1000;

/** Nesting depth of a parsed JSON value, counted without recursion; stops once past `limit`. */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    max = Math.max(max, d + 1);
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
