// Colours and dash patterns. With one run a chart's series differ by colour; with several, colour
// tells the runs apart (consistently across every chart) and the dash pattern the quantity.

/** Ten colours that stay distinct for common colour-vision deficiencies (Okabe–Ito + Tableau). */
export const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f3c8d", "#6b6b6b", "#a0522d", "#b8a000"];

export const DASHES = ["", "7 4", "2 3", "9 3 2 3", "4 2", "1 5"];

export interface SeriesStyle {
  color: string;
  dash?: string;
}

/** The style of quantity `variant` of run `run` in a chart with `runs` runs and `variants` quantities. */
export function seriesStyle(run: number, runs: number, variant: number): SeriesStyle {
  if (runs === 1) return { color: PALETTE[variant % PALETTE.length]! };
  const color = PALETTE[run % PALETTE.length]!;
  // Past ten runs colours repeat, so the palette round shifts the dash pattern too.
  const dash = DASHES[(variant + Math.floor(run / PALETTE.length)) % DASHES.length]!;
  return dash === "" ? { color } : { color, dash };
}

/** Fixed colours for the validity taxonomy, so "ok" is always green and failures warm. */
export const VALIDITY_COLORS: Record<string, string> = {
  ok: "#009e73",
  wrong_format: "#d55e00",
  out_of_pool: "#0072b2",
  repetition: "#cc79a7",
  too_long: "#e69f00",
  rank_not_in_slate: "#7f3c8d",
};
