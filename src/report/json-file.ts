export { readJsonFile } from "../util/json-file.js";
import type { z } from "zod";
import { InputError } from "../util/errors.js";

/** Validates parsed JSON against a schema; the first problem becomes an InputError naming the field. */
export function validateJson<S extends z.ZodTypeAny>(schema: S, value: unknown, file: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.infer<S>;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
  throw new InputError(issue.message, field === "" ? { file } : { file, field });
}
