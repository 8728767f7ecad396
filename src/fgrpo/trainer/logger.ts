import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes one JSON object per line to a metrics file (and nothing else): the per-step record of
 * a run that the report and the tests read back. Non-finite numbers are written as null (JSON
 * has no NaN), with the key listed under `non_finite` so nothing is lost silently.
 */
export class JsonlLogger {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  log(record: Record<string, unknown>): void {
    const nonFinite: string[] = [];
    const clean = JSON.stringify(record, (key, v) => {
      if (typeof v === "number" && !Number.isFinite(v)) {
        nonFinite.push(key);
        return null;
      }
      return v;
    });
    const line = nonFinite.length > 0 ? JSON.stringify({ ...JSON.parse(clean), non_finite: nonFinite }) : clean;
    appendFileSync(this.file, line + "\n");
  }
}
