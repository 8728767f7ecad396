/**
 * Word-level text handling shared by BM25, passage truncation and the symbol prompts.
 * Words are runs of letters and digits (Unicode-aware), lower-cased: "Lucy's 1957 book." →
 * ["lucy", "s", "1957", "book"].
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Truncates to the first `maxWords` whitespace-separated words (the passage token budget),
 * keeping the original spelling and punctuation. `maxWords` ≤ 0 means no limit.
 */
export function truncateWords(text: string, maxWords: number): string {
  if (maxWords <= 0) return text.trim();
  const parts = text.trim().split(/\s+/);
  return parts.length <= maxWords ? parts.join(" ") : parts.slice(0, maxWords).join(" ");
}

/** A small English stop-word list for BM25 (function words carry no retrieval signal). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  ("a an and are as at be been but by did do does for from had has have he her his how i in is it its " +
    "of on or she that the their them they this to was were what when where which who whom whose why will with " +
    "would you s").split(" "),
);
