import { STOP_WORDS, words } from "./text.js";

export interface Bm25Params {
  /** Term-frequency saturation. Default 1.2. */
  k1?: number;
  /** Length normalisation. Default 0.75. */
  b?: number;
}

/** Query/document terms for BM25: lower-cased words without stop words. */
export function bm25Terms(text: string): string[] {
  return words(text).filter((w) => !STOP_WORDS.has(w));
}

/**
 * Okapi BM25 over a fixed document collection with an inverted index, so searching thousands of
 * passages per question stays fast. idf = ln(1 + (N − df + 0.5) / (df + 0.5)) (the Lucene form,
 * never negative).
 */
export class Bm25Index {
  private readonly k1: number;
  private readonly b: number;
  private readonly docLengths: Float64Array;
  private readonly avgLength: number;
  private readonly postings = new Map<string, { doc: number; tf: number }[]>();

  constructor(docs: readonly string[], params: Bm25Params = {}) {
    this.k1 = params.k1 ?? 1.2;
    this.b = params.b ?? 0.75;
    this.docLengths = new Float64Array(docs.length);
    docs.forEach((text, doc) => {
      const terms = bm25Terms(text);
      this.docLengths[doc] = terms.length;
      const tf = new Map<string, number>();
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, n] of tf) {
        let list = this.postings.get(t);
        if (!list) this.postings.set(t, (list = []));
        list.push({ doc, tf: n });
      }
    });
    const total = this.docLengths.reduce((a, b) => a + b, 0);
    this.avgLength = docs.length > 0 && total > 0 ? total / docs.length : 1;
  }

  get size(): number {
    return this.docLengths.length;
  }

  idf(term: string): number {
    const df = this.postings.get(term)?.length ?? 0;
    const n = this.docLengths.length;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** BM25 score of every document for a query (zeros for documents sharing no term). */
  scores(query: string): Float64Array {
    const out = new Float64Array(this.docLengths.length);
    for (const term of new Set(bm25Terms(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = this.idf(term);
      for (const { doc, tf } of list) {
        const norm = this.k1 * (1 - this.b + (this.b * this.docLengths[doc]!) / this.avgLength);
        out[doc]! += (idf * tf * (this.k1 + 1)) / (tf + norm);
      }
    }
    return out;
  }

  /** Score of the query against an arbitrary text, using this collection's statistics. */
  scoreText(query: string, text: string): number {
    const terms = bm25Terms(text);
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    const norm = this.k1 * (1 - this.b + (this.b * terms.length) / this.avgLength);
    let s = 0;
    for (const term of new Set(bm25Terms(query))) {
      const n = tf.get(term);
      if (n) s += (this.idf(term) * n * (this.k1 + 1)) / (n + norm);
    }
    return s;
  }
}
