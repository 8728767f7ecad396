/**
 * Ranking metrics with trec_eval's definitions, per query and averaged over a run.
 *
 * This module is a leaf: it imports only bootstrap.ts (and through it the seeded RNG), so the RL
 * rewards (src/fgrpo/rewards.ts) and the evaluation share one implementation of
 * NDCG and recall.
 *
 * Conventions (see docs/algorithm.md):
 * - A document is relevant when its grade is > 0; unjudged documents have grade 0.
 * - Duplicates in a ranking count once: later occurrences are dropped and the list closes up
 *   (rank_llm's post-processing of LLM rankings does the same).
 * - A query with no relevant document scores 0 on every metric (trec_eval's guarded division).
 */
import { bootstrapMeanCi } from "./bootstrap.js";

/** doc id → grade; grade > 0 = relevant. */
export type Grades = ReadonlyMap<string, number>;

export type MetricKind = "recall" | "precision" | "hit" | "ndcg" | "mrr" | "slate_recall";
export type Gain = "linear" | "exponential";

export interface MetricSpec {
  /** The canonical, lower-case name, e.g. "ndcg@5". */
  name: string;
  kind: MetricKind;
  /** Cutoff; undefined means the whole list (mrr, slate_recall). */
  k?: number;
  /** NDCG gain: linear (trec_eval `ndcg_cut`) or exponential 2^g − 1 (Burges et al.). */
  gain: Gain;
}

/**
 * The metrics every method's table reports — learned models (`eval`, `compare`, validation) and
 * classic baselines (`baseline`, `compare`) alike — all cut at 5 (the paper's k_max, SPEC §7).
 * A learned model names at most k_max items while a classic ranker orders the whole pool, so an
 * uncut MRR would credit the baseline for positives at ranks 6…N that the model cannot name;
 * at cutoff 5 both are scored on the same first five items.
 */
export const COMPARABLE_METRICS: readonly string[] = [
  "recall@1", "recall@3", "recall@5",
  "ndcg@1", "ndcg@3", "ndcg@5",
  "hit@1", "hit@3", "hit@5",
  "precision@1", "precision@3", "precision@5",
  "mrr@5",
];

/**
 * `fgrpo score`'s default (trec_eval-style scoring of any run file): the paper's metrics plus
 * trec_eval's uncut MRR (recip_rank); `slate_recall` is added when runs carry slates.
 */
export const DEFAULT_METRICS: readonly string[] = [
  "recall@1", "recall@3", "recall@5",
  "ndcg@1", "ndcg@3", "ndcg@5",
  "hit@1", "hit@3", "hit@5",
  "precision@1", "precision@3", "precision@5",
  "mrr",
];

const NAME_HELP =
  "valid metrics: recall@K, precision@K, hit@K, ndcg@K (linear gain), ndcg_exp@K (gain 2^g−1), mrr, mrr@K, slate_recall (K a positive integer)";

/** Parses a metric name (case-insensitive; the returned name is lower-case). */
export function parseMetricName(name: string): MetricSpec {
  const lower = name.trim().toLowerCase();
  if (lower === "mrr") return { name: lower, kind: "mrr", gain: "linear" };
  if (lower === "slate_recall") return { name: lower, kind: "slate_recall", gain: "linear" };
  const m = /^(recall|precision|hit|ndcg|ndcg_exp|mrr)@([1-9][0-9]*)$/.exec(lower);
  if (!m) throw new Error(`unknown metric "${name}"; ${NAME_HELP}`);
  const k = Number(m[2]);
  if (m[1] === "ndcg_exp") return { name: lower, kind: "ndcg", k, gain: "exponential" };
  return { name: lower, kind: m[1] as MetricKind, k, gain: "linear" };
}

/** The list without later duplicates (first occurrence kept, order preserved). */
export function dedupe<K>(items: readonly K[]): K[] {
  const seen = new Set<K>();
  const out: K[] = [];
  for (const item of items) {
    if (seen.has(item)) continue;
    seen.add(item);
    out.push(item);
  }
  return out;
}

function gradeOf<K>(grades: ReadonlyMap<K, number>, item: K): number {
  return grades.get(item) ?? 0;
}

function gainOf(grade: number, gain: Gain): number {
  if (grade <= 0) return 0;
  return gain === "linear" ? grade : 2 ** grade - 1;
}

/** Number of relevant (grade > 0) items. */
export function countRelevant<K>(grades: ReadonlyMap<K, number>): number {
  let n = 0;
  for (const g of grades.values()) if (g > 0) n++;
  return n;
}

/** Relevant items among the first k of `ranking` (deduplicated). */
function relevantInTop<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k: number): number {
  const list = dedupe(ranking);
  let hits = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) if (gradeOf(grades, list[i]!) > 0) hits++;
  return hits;
}

/** |top-k ∩ G| / |G|; 0 when there is no relevant item. */
export function recallAt<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k: number): number {
  const total = countRelevant(grades);
  return total === 0 ? 0 : relevantInTop(ranking, grades, k) / total;
}

/** |top-k ∩ G| / k: trec_eval's P_k divides by k even when the list is shorter. */
export function precisionAt<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k: number): number {
  return relevantInTop(ranking, grades, k) / k;
}

/** 1 when a relevant item is among the first k, else 0. */
export function hitAt<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k: number): number {
  return relevantInTop(ranking, grades, k) > 0 ? 1 : 0;
}

/** Reciprocal rank of the first relevant item within the first k (all when k is undefined). */
export function reciprocalRank<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k?: number): number {
  const list = dedupe(ranking);
  const limit = Math.min(k ?? list.length, list.length);
  for (let i = 0; i < limit; i++) if (gradeOf(grades, list[i]!) > 0) return 1 / (i + 1);
  return 0;
}

/** DCG of the first k items: Σ gain(grade_j) / log2(j + 1), j 1-based (trec_eval ndcg_cut). */
export function dcgAt<K>(ranking: readonly K[], grades: ReadonlyMap<K, number>, k: number, gain: Gain = "linear"): number {
  const list = dedupe(ranking);
  let dcg = 0;
  for (let i = 0; i < Math.min(k, list.length); i++) dcg += gainOf(gradeOf(grades, list[i]!), gain) / Math.log2(i + 2);
  return dcg;
}

/** DCG of the ideal ordering of `judgedGrades` (all grades, sorted descending), cut at k. */
export function idealDcgAt(judgedGrades: Iterable<number>, k: number, gain: Gain = "linear"): number {
  const sorted = [...judgedGrades].filter((g) => g > 0).sort((a, b) => b - a);
  let dcg = 0;
  for (let i = 0; i < Math.min(k, sorted.length); i++) dcg += gainOf(sorted[i]!, gain) / Math.log2(i + 2);
  return dcg;
}

/**
 * NDCG@k with IDCG over the ideal ordering of every judged grade (trec_eval), or over
 * `idealGrades` when given (the F-GRPO slate-conditional reward passes the grades of G ∩ S).
 * 0 when the ideal DCG is 0.
 */
export function ndcgAt<K>(
  ranking: readonly K[],
  grades: ReadonlyMap<K, number>,
  k: number,
  gain: Gain = "linear",
  idealGrades: Iterable<number> = grades.values(),
): number {
  const ideal = idealDcgAt(idealGrades, k, gain);
  return ideal === 0 ? 0 : dcgAt(ranking, grades, k, gain) / ideal;
}

/**
 * One metric for one query. `slate` is needed only for `slate_recall`: the fraction of relevant
 * documents the generated slate contains (order-free).
 */
export function scoreQuery(metric: string, ranking: readonly string[], gold: Grades, slate?: readonly string[]): number {
  const spec = parseMetricName(metric);
  return scoreWithSpec(spec, ranking, gold, slate);
}

export function scoreWithSpec(spec: MetricSpec, ranking: readonly string[], gold: Grades, slate?: readonly string[]): number {
  const k = spec.k ?? Number.POSITIVE_INFINITY;
  switch (spec.kind) {
    case "recall":
      return recallAt(ranking, gold, k);
    case "precision":
      return precisionAt(ranking, gold, k);
    case "hit":
      return hitAt(ranking, gold, k);
    case "ndcg":
      return ndcgAt(ranking, gold, k, spec.gain);
    case "mrr":
      return reciprocalRank(ranking, gold, spec.k);
    case "slate_recall":
      if (slate === undefined) throw new Error("slate_recall needs the generated slate, and this query has none");
      return recallAt(slate, gold, Number.POSITIVE_INFINITY);
  }
}

export interface QueryRun {
  id: string;
  ranking: string[];
  slate?: string[];
}

export interface MetricSummary {
  mean: number;
  ciLow: number;
  ciHigh: number;
}

export interface EvalSummary {
  metrics: Record<string, MetricSummary>;
  /** query id → metric → value, for every query in the gold file (missing ones score 0). */
  perQuery: Map<string, Record<string, number>>;
  /** Number of gold queries: the denominator of every mean. */
  numQueries: number;
  /** Gold queries absent from the run (each scores 0 on every metric). */
  missingFromRun: number;
  /** Ranked documents (after deduplication, over all scored queries) that the gold file does not judge. */
  unjudgedInRun: number;
  /** Run queries that the gold file does not have; they are not scored (as trec_eval). */
  notInGold: number;
}

/**
 * Scores a run against gold judgments. Every gold query counts (trec_eval -c): one missing from
 * the run scores 0. Means come with 95% percentile-bootstrap CIs over queries (seeded; default
 * 1000 resamples, seed 0 [ours]).
 */
export function evaluateRun(
  run: ReadonlyMap<string, QueryRun>,
  gold: ReadonlyMap<string, Grades>,
  metrics: readonly string[],
  opts: { bootstrapSamples?: number; seed?: number } = {},
): EvalSummary {
  const specs = metrics.map(parseMetricName);
  const perQuery = new Map<string, Record<string, number>>();
  let missingFromRun = 0;
  let unjudgedInRun = 0;
  for (const [qid, grades] of gold) {
    const entry = run.get(qid);
    const row: Record<string, number> = {};
    if (entry === undefined) missingFromRun++;
    else for (const doc of dedupe(entry.ranking)) if (!grades.has(doc)) unjudgedInRun++;
    for (const spec of specs) {
      if (entry === undefined) row[spec.name] = 0;
      else if (spec.kind === "slate_recall" && entry.slate === undefined) {
        throw new Error(`slate_recall: query "${qid}" has no slate in the run`);
      } else row[spec.name] = scoreWithSpec(spec, entry.ranking, grades, entry.slate);
    }
    perQuery.set(qid, row);
  }
  let notInGold = 0;
  for (const qid of run.keys()) if (!gold.has(qid)) notInGold++;
  const summaries: Record<string, MetricSummary> = {};
  for (const spec of specs) {
    const values = [...perQuery.values()].map((row) => row[spec.name]!);
    summaries[spec.name] = bootstrapMeanCi(values, opts.bootstrapSamples ?? 1000, opts.seed ?? 0);
  }
  return { metrics: summaries, perQuery, numQueries: gold.size, missingFromRun, unjudgedInRun, notInGold };
}

export { pairedTest } from "./bootstrap.js";
