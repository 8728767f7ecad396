import { readFileSync } from "node:fs";
import type { z } from "zod";
import { InputError } from "../util/errors.js";

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

/** Validates parsed JSON against a schema; the first problem becomes an InputError naming the field. */
export function validateJson<S extends z.ZodTypeAny>(schema: S, value: unknown, file: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.infer<S>;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
  throw new InputError(issue.message, field === "" ? { file } : { file, field });
}
