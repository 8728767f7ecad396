import { words } from "./text.js";
import { DEFAULT_PROMPT_TEMPLATES, fillTemplate, truncateToTokens, type PromptTemplate } from "./prompt-templates.js";
import type { RankingExample } from "./types.js";

/**
 * Prompts in two renderings of the same content (SPEC §1):
 * 1. symbols, for a model trained from scratch on a TaskVocab (one token per symbol);
 * 2. text with "[i]" ids (RankGPT convention), for pretrained LLMs, as chat messages plus a
 *    plain-text fallback.
 * The completion layout is the same for both: `<SLATE> [i] … </SLATE> <RANK> [j] … </RANK>`
 * (the text rendering separates ranked ids with " > ").
 */
export const PROMPT_TAGS = Object.freeze({
  bos: "<bos>",
  eos: "<eos>",
  openHistory: "<HIST>",
  closeHistory: "</HIST>",
  openQuestion: "<Q>",
  closeQuestion: "</Q>",
  openPool: "<POOL>",
  closePool: "</POOL>",
  openSlate: "<SLATE>",
  closeSlate: "</SLATE>",
  openRank: "<RANK>",
  closeRank: "</RANK>",
});

/** "[7]": how pool position 7 (1-based) is shown. */
export const poolIdSymbol = (position: number): string => `[${position}]`;
/** "item:123": one symbol per item. */
export const itemSymbol = (itemId: string): string => `item:${itemId}`;

export interface SymbolPromptOptions {
  /** Rec: most recent history items kept. Default 20. */
  maxHistory?: number;
  /** QA: question words kept. Default 32. */
  questionWords?: number;
  /** QA: words per passage kept (title words first, then text words). Default 24. */
  passageWords?: number;
}

/**
 * The prompt as symbols. Rec: `<bos> <HIST> item:… </HIST> <POOL> [1] item:… [2] item:… </POOL>`.
 * QA: `<bos> <Q> words </Q> <POOL> [1] words [2] words … </POOL>`, where words are lower-cased
 * runs of letters and digits (see `words`), the question cut to `questionWords` and each
 * passage ("title: text") to `passageWords`. Synthetic: `<bos> <Q> c2 </Q> <POOL> [1] item:c0g5 … </POOL>`.
 */
export function promptSymbols(example: RankingExample, opts: SymbolPromptOptions = {}): string[] {
  const t = PROMPT_TAGS;
  const out: string[] = [t.bos];
  if (example.task === "rec") {
    out.push(t.openHistory, ...(example.history ?? []).slice(-(opts.maxHistory ?? 20)).map(itemSymbol), t.closeHistory, t.openPool);
    example.pool.forEach((c, i) => out.push(poolIdSymbol(i + 1), itemSymbol(c.id)));
  } else if (example.task === "synthetic") {
    // Candidate ids are their attributes ("c2g5"): one item symbol each, like rec items.
    out.push(t.openQuestion, example.question ?? "", t.closeQuestion, t.openPool);
    example.pool.forEach((c, i) => out.push(poolIdSymbol(i + 1), itemSymbol(c.id)));
  } else {
    out.push(t.openQuestion, ...words(example.question ?? "").slice(0, opts.questionWords ?? 32), t.closeQuestion, t.openPool);
    example.pool.forEach((c, i) => out.push(poolIdSymbol(i + 1), ...words(c.text).slice(0, opts.passageWords ?? 24)));
  }
  out.push(t.closePool);
  return out;
}

/** The completion as symbols: `<SLATE> [i] … </SLATE> <RANK> [j] … </RANK> <eos>` (1-based positions). */
export function completionSymbols(target: { slate: readonly number[]; ranking: readonly number[] }): string[] {
  const t = PROMPT_TAGS;
  return [t.openSlate, ...target.slate.map(poolIdSymbol), t.closeSlate, t.openRank, ...target.ranking.map(poolIdSymbol), t.closeRank, t.eos];
}

/** The completion as text: `<SLATE> [4] [11] </SLATE> <RANK> [11] > [4] </RANK>`. */
export function completionText(target: { slate: readonly number[]; ranking: readonly number[] }): string {
  return `<SLATE> ${target.slate.map(poolIdSymbol).join(" ")} </SLATE> <RANK> ${target.ranking.map(poolIdSymbol).join(" > ")} </RANK>`;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface TextPromptOptions {
  /** Slate size limit stated in the instruction (n_max). Default 10. */
  nMax?: number;
  /** Ranking size limit (k_max). Default 5. */
  kMax?: number;
  /** Rec: most recent history items shown. Default 20. */
  maxHistory?: number;
  /** The template (default: the task's built-in one, see prompt-templates.ts). */
  template?: PromptTemplate;
  /**
   * The model tokenizer's token count, for the template's title and passage budgets; default
   * whitespace words (an approximation for tests and tokenizer-free previews).
   */
  countTokens?: (text: string) => number;
}

export interface TextPrompt {
  messages: ChatMessage[];
  /** The same prompt as one string, for models without a chat template. */
  text: string;
}

/** The prompt for a pretrained LLM: the template filled with the query and the numbered pool. */
export function textPrompt(example: RankingExample, opts: TextPromptOptions = {}): TextPrompt {
  const n = example.pool.length;
  const nMax = Math.min(opts.nMax ?? 10, n), kMax = Math.min(opts.kMax ?? 5, nMax);
  const isRec = example.task === "rec";
  const tpl = opts.template ?? DEFAULT_PROMPT_TEMPLATES[example.task];
  const count = opts.countTokens ?? ((s: string) => s.trim().split(/\s+/).length);
  const cut = (text: string, budget: number) => truncateToTokens(text, budget, count);
  const candidates = example.pool.map((c, i) => fillTemplate(tpl.candidate, { i: i + 1, text: cut(c.text, isRec ? tpl.title_tokens : tpl.passage_tokens) }));
  const values: Record<string, string | number> = { n, n_max: nMax, k_max: kMax, candidates: candidates.join("\n") };
  if (isRec) {
    const history = (example.historyText ?? example.history ?? []).slice(-(opts.maxHistory ?? 20));
    values.history = history.map((h, i) => fillTemplate(tpl.history_item, { i: i + 1, title: cut(h, tpl.title_tokens) })).join("\n");
  } else {
    values.question = cut(example.question ?? "", tpl.passage_tokens);
  }
  const system = fillTemplate(tpl.system, values);
  const user = fillTemplate(tpl.user, values);
  const messages: ChatMessage[] = system === "" ? [{ role: "user", content: user }] : [{ role: "system", content: system }, { role: "user", content: user }];
  return { messages, text: `${system === "" ? "" : system + "\n\n"}${user}\n\nAnswer: ` };
}
