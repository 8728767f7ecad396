import { Bm25Index } from "../bm25.js";
import { exampleRng, hashString } from "../seed.js";
import { truncateWords } from "../text.js";
import type { PoolCandidate, RankingExample } from "../types.js";
import { isComplete, type QaParagraph, type QaQuestion } from "./types.js";

export interface QaSplitOptions {
  /** Fraction of questions in valid. Default 0.1. */
  validFraction?: number;
  /** Fraction in test. Default 0.2. */
  testFraction?: number;
  seed?: number;
}

export interface QaSplits {
  train: QaQuestion[];
  valid: QaQuestion[];
  test: QaQuestion[];
  /** Questions dropped because a supporting paragraph is not in their context (their gold would be wrong). */
  incomplete: QaQuestion[];
}

/**
 * Assigns each question to train/valid/test by a hash of (seed, id), so a question's split does
 * not change when files are added or reordered. Incomplete questions are set aside.
 */
export function splitQa(questions: readonly QaQuestion[], opts: QaSplitOptions = {}): QaSplits {
  const valid = opts.validFraction ?? 0.1, test = opts.testFraction ?? 0.2;
  if (!(valid >= 0 && test >= 0 && valid + test <= 1)) throw new Error(`validFraction + testFraction must be within [0, 1], got ${valid} + ${test}`);
  const out: QaSplits = { train: [], valid: [], test: [], incomplete: [] };
  const sorted = [...questions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const q of sorted) {
    if (!isComplete(q)) {
      out.incomplete.push(q);
      continue;
    }
    const u = exampleRng(opts.seed ?? 0, `split:${q.id}`).next();
    (u < test ? out.test : u < test + valid ? out.valid : out.train).push(q);
  }
  return out;
}

export interface QaPoolOptions {
  /** N. Default 20. */
  poolSize?: number;
  /** How the question's own paragraphs are padded to N: BM25 against the question (hard) or random. Default `bm25`. */
  distractors?: "bm25" | "random";
  seed?: number;
  /** Passage budget in whitespace words (title not counted); ≤ 0 keeps whole passages. Default 128. */
  maxWords?: number;
}

/**
 * Builds QA pools for one split. Distractors come only from the same split's paragraphs, so no
 * test passage is ever seen in training pools. A distractor never shares a title with any of the
 * question's own paragraphs (it could be the same article, i.e. a hidden positive).
 */
export class QaPoolBuilder {
  private readonly corpus: { title: string; text: string }[];
  private readonly index: Bm25Index;
  private readonly poolSize: number;

  constructor(questions: readonly QaQuestion[], private readonly opts: QaPoolOptions = {}) {
    this.poolSize = opts.poolSize ?? 20;
    const byTitle = new Map<string, string>();
    for (const q of questions) for (const p of q.paragraphs) if (!byTitle.has(p.title)) byTitle.set(p.title, p.text);
    // Sorted by title: the corpus (and so every pool) does not depend on question order.
    this.corpus = [...byTitle].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([title, text]) => ({ title, text }));
    this.index = new Bm25Index(this.corpus.map((d) => `${d.title} ${d.text}`));
  }

  /** All passages of the split, as texts (BM25 term statistics for the baseline). */
  corpusTexts(): string[] {
    return this.corpus.map((d) => `${d.title}: ${d.text}`);
  }

  build(q: QaQuestion): RankingExample {
    const rng = exampleRng(this.opts.seed ?? 0, q.id);
    const own = this.ownParagraphs(q, rng);
    const exclude = new Set(q.paragraphs.map((p) => p.title));
    const need = this.poolSize - own.length;
    const picked: { title: string; text: string }[] = [];
    if (need > 0) {
      const order = this.opts.distractors === "random" ? rng.shuffle(this.corpus.map((_, i) => i)) : this.bm25Order(q.question);
      for (const i of order) {
        if (picked.length >= need) break;
        const d = this.corpus[i]!;
        if (exclude.has(d.title)) continue;
        exclude.add(d.title);
        picked.push(d);
      }
    }
    const maxWords = this.opts.maxWords ?? 128;
    const pool: PoolCandidate[] = [
      ...own.map((p) => ({ id: p.id, text: `${p.title}: ${truncateWords(p.text, maxWords)}` })),
      ...picked.map((d) => ({ id: d.title, text: `${d.title}: ${truncateWords(d.text, maxWords)}` })),
    ];
    rng.shuffle(pool);
    const example: RankingExample = {
      id: q.id,
      task: "qa",
      question: q.question,
      pool,
      relevant: new Map(own.filter((p) => p.supporting).map((p) => [p.id, 1])),
    };
    const scores = pool.map((c) => this.index.scoreText(q.question, c.text));
    example.retrieverRank = pool.map((c, i) => ({ id: c.id, s: scores[i]!, i })).sort((a, b) => b.s - a.s || a.i - b.i).map((e) => e.id);
    return example;
  }

  /** The question's paragraphs; when there are more than N (MuSiQue with N < 20), all supporting ones plus random others. */
  private ownParagraphs(q: QaQuestion, rng: ReturnType<typeof exampleRng>): QaParagraph[] {
    if (q.paragraphs.length <= this.poolSize) return q.paragraphs;
    const supporting = q.paragraphs.filter((p) => p.supporting).slice(0, this.poolSize);
    const others = rng.shuffle(q.paragraphs.filter((p) => !p.supporting)).slice(0, this.poolSize - supporting.length);
    return [...supporting, ...others];
  }

  private bm25Order(question: string): number[] {
    const s = this.index.scores(question);
    const idx = Array.from(s.keys()).filter((i) => s[i]! > 0);
    idx.sort((a, b) => s[b]! - s[a]! || a - b);
    // If the question shares too few terms with the corpus, fall back to a stable filler order.
    const seen = new Set(idx);
    const rest = Array.from(s.keys()).filter((i) => !seen.has(i)).sort((a, b) => hashString(this.corpus[a]!.title) - hashString(this.corpus[b]!.title));
    return [...idx, ...rest];
  }
}

export function buildQaExamples(questions: readonly QaQuestion[], opts: QaPoolOptions = {}): { examples: RankingExample[]; corpus: string[] } {
  const builder = new QaPoolBuilder(questions, opts);
  return { examples: questions.map((q) => builder.build(q)), corpus: builder.corpusTexts() };
}
