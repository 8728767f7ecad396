/**
 * Text prompts for pretrained LLMs are data: a template (a JSON file a user can edit) holds the
 * system message, the user message with placeholders, how one history item and one candidate
 * are written, and the token budgets that keep ~20 candidates inside a ~1k-token prompt. The
 * defaults below are also shipped as configs/prompts/{rec,qa}.json (a test keeps them equal) and
 * documented in docs/tasks.md.
 *
 * Placeholders are `{name}`; each field accepts only its own names, so a typo is an error at
 * load time instead of a literal "{hsitory}" in every prompt.
 */
import { z } from "zod";
import { InputError } from "../util/errors.js";
import { readJsonFile } from "../util/json-file.js";
import type { TaskName } from "./types.js";

export interface PromptTemplate {
  /** The system message. Placeholders: {n}, {n_max}, {k_max}. */
  system: string;
  /**
   * The user message. Placeholders: {n}, {n_max}, {k_max}, {candidates} (the candidate lines),
   * and {history} (rec: the history lines) or {question} (qa).
   */
  user: string;
  /** One history line (rec). Placeholders: {i} (1 = oldest shown), {title}. */
  history_item: string;
  /** One candidate line. Placeholders: {i} (its id, shown as [i]), {text}. */
  candidate: string;
  /** Token budget of each title (rec history items and candidates); longer ones are cut at a word boundary. */
  title_tokens: number;
  /** Token budget of each passage (qa candidates) and of the question. */
  passage_tokens: number;
}

const LAYOUT_RULES =
  "Answer with the ids only, in exactly this layout: <SLATE> [i] [j] ... </SLATE> <RANK> [j] > [i] > ... </RANK>\n" +
  "Every id in <RANK> must appear in <SLATE>; do not repeat an id; write nothing else.";

/** The built-in templates (RankGPT-style "[i]" candidates). */
export const DEFAULT_PROMPT_TEMPLATES: Readonly<Record<TaskName, Readonly<PromptTemplate>>> = Object.freeze({
  rec: Object.freeze({
    system: "You are a recommender system. Given a user's history of items, you select the items from a candidate list the user is most likely to interact with next, and rank them.",
    user:
      "The user interacted with these items, oldest first:\n{history}\n\nCandidate items, each with an id [1] to [{n}]:\n{candidates}\n\n" +
      "First select between 1 and {n_max} candidates the user is likely to want next; then rank at most {k_max} of the selected ones, best first.\n" +
      LAYOUT_RULES,
    history_item: "{i}. {title}",
    candidate: "[{i}] {text}",
    title_tokens: 24,
    passage_tokens: 96,
  }),
  qa: Object.freeze({
    system: "You are a search assistant for multi-hop questions. Given a question and candidate passages, you select the passages needed to answer it, and rank them.",
    user:
      "Question: {question}\n\nCandidate passages, each with an id [1] to [{n}]:\n{candidates}\n\n" +
      "First select between 1 and {n_max} passages that may be needed to answer the question; then rank at most {k_max} of the selected ones, most useful first.\n" +
      LAYOUT_RULES,
    history_item: "{i}. {title}",
    candidate: "[{i}] {text}",
    title_tokens: 24,
    passage_tokens: 48,
  }),
  synthetic: Object.freeze({
    system: "You are given a query category and candidates, each with a category c<k> and a grade g<v>. You select the candidates of the query's category, and rank them by grade.",
    user:
      "Query category: {question}\n\nCandidates, each with an id [1] to [{n}]:\n{candidates}\n\n" +
      "First select between 1 and {n_max} candidates of the query's category; then rank at most {k_max} of the selected ones, highest grade first.\n" +
      LAYOUT_RULES,
    history_item: "{i}. {title}",
    candidate: "[{i}] {text}",
    title_tokens: 24,
    passage_tokens: 48,
  }),
});

const COMMON = ["n", "n_max", "k_max"];
const PLACEHOLDERS: Record<"system" | "user" | "history_item" | "candidate", (task: TaskName) => string[]> = {
  system: () => COMMON,
  user: (task) => [...COMMON, "candidates", task === "rec" ? "history" : "question"],
  history_item: () => ["i", "title"],
  candidate: () => ["i", "text"],
};

const TemplateSchema = z.object({
  system: z.string(),
  user: z.string().min(1),
  history_item: z.string().min(1),
  candidate: z.string().min(1),
  title_tokens: z.number().int().positive(),
  passage_tokens: z.number().int().positive(),
}).partial().strict();

/**
 * Reads a template file: a JSON object with any of the PromptTemplate fields; missing fields
 * take the task's defaults. Errors name the file and the field.
 */
export function readPromptTemplate(file: string, task: TaskName): PromptTemplate {
  const r = TemplateSchema.safeParse(readJsonFile(file));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : issue.message, { file, field: issue.path.join(".") || "(root)" });
  }
  const template = { ...DEFAULT_PROMPT_TEMPLATES[task], ...r.data };
  checkPlaceholders(template, task, file);
  return template;
}

/** Throws when a field uses a placeholder it does not accept, or the user message omits {candidates}. */
export function checkPlaceholders(template: PromptTemplate, task: TaskName, file = "<template>"): void {
  for (const [field, allowed] of Object.entries(PLACEHOLDERS) as [keyof typeof PLACEHOLDERS, (t: TaskName) => string[]][]) {
    for (const m of template[field].matchAll(/\{([a-z_]+)\}/g)) {
      if (!allowed(task).includes(m[1]!)) throw new InputError(`unknown placeholder {${m[1]}} (${field} accepts ${allowed(task).map((a) => `{${a}}`).join(", ")})`, { file, field });
    }
  }
  if (!template.user.includes("{candidates}")) throw new InputError("the user message must contain {candidates}", { file, field: "user" });
}

/** Replaces each `{name}` by values[name] in one pass (inserted text is never re-scanned). */
export function fillTemplate(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/**
 * Cuts text to at most `budget` tokens at a word boundary (the longest whole-word prefix that
 * fits; a first word longer than the budget is kept alone, so no text becomes empty).
 * `countTokens` is the model's tokenizer.
 */
export function truncateToTokens(text: string, budget: number, countTokens: (s: string) => number): string {
  const t = text.trim();
  let words = t.split(/\s+/);
  // Each whitespace-separated word is at least one token (BPE and SentencePiece both split at
  // spaces), so at most `budget` words can fit: long passages are cut before any tokenization.
  if (words.length > budget) words = words.slice(0, budget);
  const head = words.join(" ");
  const total = countTokens(head);
  if (total <= budget) return words.length === t.split(/\s+/).length ? t : head;
  const fits = (k: number) => k <= 1 || countTokens(words.slice(0, k).join(" ")) <= budget;
  // Start from the proportional guess, then step: two or three tokenizations instead of a search.
  let k = Math.max(1, Math.min(words.length - 1, Math.floor((words.length * budget) / total)));
  while (!fits(k)) k--;
  while (k + 1 < words.length && fits(k + 1)) k++;
  return words.slice(0, k).join(" ");
}
