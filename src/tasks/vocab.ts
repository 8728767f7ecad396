import { TaskVocab } from "../models/task-vocab.js";
import { poolIdSymbol, promptSymbols, PROMPT_TAGS, type SymbolPromptOptions } from "./prompts.js";
import type { RankingExample } from "./types.js";

export interface TaskVocabOptions extends SymbolPromptOptions {
  /** Pool ids [1]…[poolSize] are always in the vocabulary. Default: the largest pool seen (≥ 20). */
  poolSize?: number;
  /** Content symbols (items, words) seen fewer times than this are left out (→ <unk>). Default 1. */
  minCount?: number;
  /** Most content symbols kept, the most frequent first. Default unlimited. */
  maxSymbols?: number;
}

/**
 * Collects the vocabulary of a from-scratch model from the examples it will see (usually the
 * training examples; items/words only in valid/test then read as <unk>, as a real deployment would).
 * Order: the specials (TaskVocab), the tags, [1]…[N], then content symbols by count descending
 * (ties alphabetically), so the same examples always give the same ids.
 */
export function buildTaskVocab(examples: Iterable<RankingExample>, opts: TaskVocabOptions = {}): TaskVocab {
  const counts = new Map<string, number>();
  let poolSize = opts.poolSize ?? 20;
  const fixed = new Set<string>([...Object.values(PROMPT_TAGS)]);
  for (const ex of examples) {
    if (opts.poolSize === undefined) poolSize = Math.max(poolSize, ex.pool.length);
    for (const s of promptSymbols(ex, opts)) if (!fixed.has(s) && !/^\[\d+\]$/.test(s)) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const minCount = opts.minCount ?? 1;
  const content = [...counts]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxSymbols ?? Infinity)
    .map(([s]) => s);
  const ids = Array.from({ length: poolSize }, (_, i) => poolIdSymbol(i + 1));
  const tags = Object.values(PROMPT_TAGS).filter((t) => !(TaskVocab.specials as readonly string[]).includes(t));
  return new TaskVocab([...tags, ...ids, ...content]);
}
