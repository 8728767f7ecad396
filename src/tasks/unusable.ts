/**
 * The error for data that loads but leaves nothing to train or evaluate on (an empty file, every
 * line malformed or too short): it names the file and counts why each record was dropped, per
 * reason, with the first line of each, so a user sees at once what is wrong with the file.
 */
import { InputError } from "../util/errors.js";
import type { LoadReport } from "./types.js";

/** Skipped lines grouped by reason: "5 malformed: field "items": … (first at x.txt:2)". */
function skippedByReason(report: LoadReport): string[] {
  const groups = new Map<string, { n: number; first: string }>();
  for (const s of report.skipped) {
    const g = groups.get(s.reason);
    if (g) g.n++;
    else groups.set(s.reason, { n: 1, first: `${s.file}:${s.line}` });
  }
  const parts = [...groups].map(([reason, g]) => `${g.n} malformed (${reason}; first at ${g.first})`);
  // Free-text reasons (a JSON parser's message) can differ on every line: show the first few.
  return parts.length > 3 ? [...parts.slice(0, 3), `${parts.length - 3} more kinds of malformed line`] : parts;
}

/** "0 usable users of 12 records: 7 with fewer than 3 items, 5 malformed (…)". */
export function noUsableRecords(
  file: string,
  what: { unit: string; report: LoadReport; units: number; dropped: [number, string][] },
): InputError {
  const { unit, report, units } = what;
  const total = report.records + report.skipped.length;
  if (total === 0) return new InputError(`no ${unit}s: the file holds no records (empty, or blank lines only)`, { file });
  const reasons = [...what.dropped.filter(([n]) => n > 0).map(([n, why]) => `${n} ${why}`), ...skippedByReason(report)];
  const read = units !== report.records ? ` (${units} ${unit}s read)` : "";
  return new InputError(`0 usable ${unit}s of ${total} records${read}: ${reasons.join(", ") || "none usable"}`, { file });
}
