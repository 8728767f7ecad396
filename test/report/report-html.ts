// Reads a rendered report back: its chart data block (the JSON the page's charts are drawn from).
import assert from "node:assert/strict";
import type { ChartPayload } from "../../src/report/interactive-chart.js";

export interface ChartData {
  version: number;
  library: string;
  charts: ChartPayload[];
}

/** Parses the one `#fgrpo-chart-data` block of a report; fails when there is not exactly one. */
export function chartDataBlock(html: string): ChartData {
  const blocks = [...html.matchAll(/<script type="application\/json" id="fgrpo-chart-data">([\s\S]*?)<\/script>/g)];
  assert.equal(blocks.length, 1, "one chart data block");
  return JSON.parse(blocks[0]![1]!) as ChartData;
}
