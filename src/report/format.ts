/** Number formatting shared by tables: fixed decimals for metrics, compact for config values. */

export const MISSING = "—";

/** A metric mean or bound: four decimals, so runs line up in a column. */
export function fmtMetric(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(4) : MISSING;
}

/** A signed difference, e.g. "+0.0123". */
export function fmtDiff(v: number | null | undefined): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return MISSING;
  return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(4);
}

export function fmtPValue(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return `p ${MISSING}`;
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

/** A config value of any JSON type: numbers compactly (1e-4 stays 1e-4, 0.0005 stays 0.0005). */
export function fmtValue(v: unknown): string {
  if (v === undefined || v === null) return MISSING;
  if (typeof v === "number") return Number.isInteger(v) || Math.abs(v) >= 1e-3 ? String(Number(v.toPrecision(6))) : v.toExponential();
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
