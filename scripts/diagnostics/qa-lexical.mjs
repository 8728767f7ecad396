// What a from-scratch QA model can see (docs/results-qa-study.md, section 5): vocabulary coverage
// of valid/test questions, how often the words that link a question to its gold passages were
// seen in training, and BM25 restricted step by step to the model's view of the prompt (the
// truncated words, then only the words in its vocabulary, then only words it saw often).
// No training; about 10 s. Usage (after `npx tsc -p .`):
//   node scripts/diagnostics/qa-lexical.mjs [--data DIR] [--seed 0] [--json OUT]
import { writeFileSync } from "node:fs";
import { loadTaskData } from "../../dist/src/tasks/task-data.js";
import { promptSymbols } from "../../dist/src/tasks/prompts.js";
import { Bm25Index } from "../../dist/src/tasks/bm25.js";
import { STOP_WORDS, words } from "../../dist/src/tasks/text.js";
import { evaluateRun } from "../../dist/src/eval/metrics.js";
import { Rng } from "../../dist/src/util/random.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const dataDir = opt("--data", "../shared/data/qa/hotpotqa");
const seed = Number(opt("--seed", "0"));
const jsonOut = opt("--json", null);
// The trainer's prompt budget (task.max_passage_words, promptSymbols' questionWords defaults).
const QUESTION_WORDS = 32, PASSAGE_WORDS = 24;

const data = loadTaskData({ task: "qa", data: [dataDir], poolSize: 20, seed });
const split = { train: data.examples("train"), valid: data.examples("valid"), test: data.examples("test") };

const content = (ws) => ws.filter((w) => !STOP_WORDS.has(w));
const qWords = (ex) => content(words(ex.question ?? "").slice(0, QUESTION_WORDS));
const pWords = (c) => content(words(c.text).slice(0, PASSAGE_WORDS));

// Training-prompt word counts: exactly what buildTaskVocab counts (a word with count 0 is <unk>).
const isTag = (s) => s.startsWith("<") || /^\[\d+\]$/.test(s);
const count = new Map();
for (const ex of split.train) for (const s of promptSymbols(ex, { passageWords: PASSAGE_WORDS })) if (!isTag(s)) count.set(s, (count.get(s) ?? 0) + 1);
// How often a word links a training question to one of its gold passages (the direct supervision
// for matching on that word).
const linkCount = new Map();
for (const ex of split.train) for (const w of linkWords(ex)) linkCount.set(w, (linkCount.get(w) ?? 0) + 1);

/** Distinct content words shared by the question and a gold passage, as the prompt shows them. */
function linkWords(ex) {
  const q = new Set(qWords(ex));
  const out = new Set();
  for (const c of ex.pool) if (ex.relevant.has(c.id)) for (const w of pWords(c)) if (q.has(w)) out.add(w);
  return out;
}

const quantile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function coverage(name, exs) {
  const qTokens = exs.flatMap(qWords);
  const pTokens = exs.flatMap((ex) => ex.pool.flatMap(pWords));
  const perGold = exs.flatMap((ex) => ex.pool.filter((c) => ex.relevant.has(c.id)).map((c) => {
    const q = new Set(qWords(ex));
    return pWords(c).filter((w) => q.has(w));
  }));
  const links = exs.flatMap((ex) => [...linkWords(ex)]);
  return {
    split: name,
    questions: exs.length,
    question_content_words_mean: +mean(exs.map((ex) => qWords(ex).length)).toFixed(2),
    question_words_oov: +mean(qTokens.map((w) => (count.has(w) ? 0 : 1))).toFixed(4),
    question_words_seen_lt5: +mean(qTokens.map((w) => ((count.get(w) ?? 0) < 5 ? 1 : 0))).toFixed(4),
    passage_words_oov: +mean(pTokens.map((w) => (count.has(w) ? 0 : 1))).toFixed(4),
    // A gold passage is linkable when its visible words share a content word with the question.
    gold_linked: +mean(perGold.map((l) => (l.length > 0 ? 1 : 0))).toFixed(4),
    gold_linked_in_vocab: +mean(perGold.map((l) => (l.some((w) => count.has(w)) ? 1 : 0))).toFixed(4),
    gold_linked_by_a_training_link_word: +mean(perGold.map((l) => (l.some((w) => linkCount.has(w)) ? 1 : 0))).toFixed(4),
    link_words_oov: +mean(links.map((w) => (count.has(w) ? 0 : 1))).toFixed(4),
    link_word_train_count_median: quantile(links.map((w) => count.get(w) ?? 0), 0.5),
    link_word_train_link_count_median: quantile(links.map((w) => linkCount.get(w) ?? 0), 0.5),
    link_words_never_a_training_link: +mean(links.map((w) => (linkCount.has(w) ? 0 : 1))).toFixed(4),
  };
}

/** NDCG@5 and recall@5 of a scorer (pool candidate → score) on a split; ties broken by pool position. */
function rank(exs, score) {
  const runs = new Map(), qrels = new Map();
  for (const ex of exs) {
    const s = ex.pool.map((c, i) => ({ id: c.id, s: score(ex, c), i }));
    s.sort((a, b) => b.s - a.s || a.i - b.i);
    runs.set(ex.id, { id: ex.id, ranking: s.map((e) => e.id) });
    qrels.set(ex.id, ex.relevant);
  }
  const m = evaluateRun(runs, qrels, ["ndcg@5", "recall@5"], { bootstrapSamples: 0 }).metrics;
  return { ndcg5: +m["ndcg@5"].mean.toFixed(4), recall5: +m["recall@5"].mean.toFixed(4) };
}

function rankers(name, exs) {
  // Term statistics from the split's own passages, as the bm25 baseline (QaPoolBuilder.corpusTexts).
  const index = new Bm25Index(data.baselineInputs(name).corpus ?? exs.flatMap((ex) => ex.pool.map((c) => c.text)));
  const visible = (ws, keep) => ws.filter(keep).join(" ");
  const view = (keep) => (ex, c) => index.scoreText(visible(words(ex.question ?? "").slice(0, QUESTION_WORDS), keep), visible(words(c.text).slice(0, PASSAGE_WORDS), keep));
  const rng = new Rng(seed);
  const random = new Map();
  return {
    split: name,
    // The project's bm25 baseline: whole question, passage as in the pool (128 words).
    bm25_full: rank(exs, (ex, c) => index.scoreText(ex.question ?? "", c.text)),
    // What the prompt shows: 32 question words, 24 passage words (title first).
    bm25_prompt_view: rank(exs, view(() => true)),
    // … and only words in the model's vocabulary (the rest read as one <unk>).
    bm25_in_vocab: rank(exs, view((w) => count.has(w))),
    bm25_seen_ge5: rank(exs, view((w) => (count.get(w) ?? 0) >= 5)),
    bm25_seen_ge20: rank(exs, view((w) => (count.get(w) ?? 0) >= 20)),
    // … and only words that linked a training question to a gold passage at least once.
    bm25_training_link_words: rank(exs, view((w) => linkCount.has(w))),
    // The plainest learnable rule: count the visible shared content words.
    overlap_count_prompt_view: rank(exs, (ex, c) => {
      const q = new Set(qWords(ex));
      return new Set(pWords(c).filter((w) => q.has(w))).size;
    }),
    random: rank(exs, (ex, c) => {
      const k = `${ex.id}\u0000${c.id}`;
      if (!random.has(k)) random.set(k, rng.next());
      return random.get(k);
    }),
  };
}

const out = {
  data: dataDir, seed, question_words: QUESTION_WORDS, passage_words: PASSAGE_WORDS,
  vocabulary: { content_words: count.size, seen_once: [...count.values()].filter((n) => n === 1).length, seen_lt5: [...count.values()].filter((n) => n < 5).length, training_link_words: linkCount.size },
  coverage: ["train", "valid", "test"].map((s) => coverage(s, split[s])),
  rankers: ["train", "valid", "test"].map((s) => rankers(s, split[s])),
};
console.log(JSON.stringify(out, null, 1));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1) + "\n");
