import { InputError } from "../util/errors.js";
import type { LoadReport, OnError } from "./types.js";

/**
 * Collects the records a loader skipped. With `onError: "throw"` a bad record stops loading with
 * an InputError that names the file, line and field; with `"skip"` it is recorded with its reason.
 */
export class ReportBuilder {
  readonly report: LoadReport = { files: [], records: 0, skipped: [] };

  constructor(private readonly onError: OnError = "throw") {}

  file(name: string): void {
    this.report.files.push(name);
  }

  /** Handles one bad record: throws or records it, per the policy. */
  bad(file: string, line: number, reason: string, field?: string): void {
    if (this.onError === "throw") throw new InputError(reason, { file, line, field });
    this.report.skipped.push({ file, line, reason: field !== undefined ? `field "${field}": ${reason}` : reason });
  }

  ok(): void {
    this.report.records++;
  }
}

/** Merges reports of several loads (several files) into one. */
export function mergeReports(reports: readonly LoadReport[]): LoadReport {
  return {
    files: reports.flatMap((r) => r.files),
    records: reports.reduce((s, r) => s + r.records, 0),
    skipped: reports.flatMap((r) => r.skipped),
  };
}

/** One line summarising a report, for CLI output. */
export function describeReport(r: LoadReport): string {
  const reasons = new Map<string, number>();
  for (const s of r.skipped) {
    const key = s.reason.replace(/"[^"]*"/g, '"…"').slice(0, 80);
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const parts = [...reasons].map(([k, n]) => `${n}× ${k}`);
  return `${r.records} records from ${r.files.length} file(s), ${r.skipped.length} skipped${parts.length ? ": " + parts.join("; ") : ""}`;
}
