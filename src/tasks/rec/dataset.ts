import type { LoadReport } from "../types.js";

/**
 * A sequential-recommendation dataset as the loaders return it: every user's full interaction
 * sequence in time order, item titles where the source has them, and optionally first-stage
 * candidate lists (a retriever's top-K per user, best first). Splits and pools are derived from it.
 */
export interface RecDataset {
  name: string;
  /** user id → item ids, oldest first (the whole sequence: splits cut the valid/test targets off). */
  sequences: Map<string, string[]>;
  /** item id → title, for the items that have one. */
  titles: Map<string, string>;
  /** user id → retriever candidates, best first (e.g. `Games-6k.sasrec`). */
  candidates?: Map<string, string[]>;
  /** Where `candidates` came from (file name), for reports. */
  candidateSource?: string;
  report: LoadReport;
}

/** Every item that occurs in a sequence, a title or a candidate list. */
export function catalogOf(data: RecDataset): string[] {
  const seen = new Set<string>();
  for (const seq of data.sequences.values()) for (const i of seq) seen.add(i);
  for (const i of data.titles.keys()) seen.add(i);
  return [...seen];
}

/** Summary statistics of a dataset, for docs and CLI output. */
export function recStats(data: RecDataset): { users: number; items: number; interactions: number; meanLength: number; maxLength: number } {
  let interactions = 0;
  let maxLength = 0;
  const items = new Set<string>();
  for (const seq of data.sequences.values()) {
    interactions += seq.length;
    maxLength = Math.max(maxLength, seq.length);
    for (const i of seq) items.add(i);
  }
  const users = data.sequences.size;
  return { users, items: items.size, interactions, meanLength: users ? interactions / users : 0, maxLength };
}
