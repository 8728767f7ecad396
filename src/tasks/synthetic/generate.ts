/**
 * A controlled task whose optimal slate and ranking are known by construction, and where slate
 * quality and ranking quality are independent (issue 12, item 3): it tests F-GRPO's
 * credit-assignment claim without the confounds of real data.
 *
 * Each prompt shows a query category and a pool of N candidates, each with two visible
 * attributes: a category `c<k>` and a grade `g<v>`. Exactly `goldSize` candidates share the
 * query's category: they are the gold slate (membership is decided by the category alone). Their
 * grades are distinct, and the gold ranking orders them by grade, highest first (order is decided
 * by the grade alone). The other candidates come from the other categories with random grades, so
 * a grade says nothing about membership and a category nothing about order.
 *
 *     <bos> <Q> c2 </Q> <POOL> [1] item:c0g5 [2] item:c2g3 [3] item:c2g7 … </POOL>
 *     <SLATE> item:c2g3 item:c2g7 … </SLATE> <RANK> item:c2g7 item:c2g3 … </RANK> <eos>
 *
 * A candidate's id is its shown attributes ("c2g5", distinct within a pool), so with
 * `layout.id_tokens: item` (the default for this task) the model names a candidate by one token
 * whose embedding can carry both attributes; with `pool_id` it must copy the "[i]" in front of
 * it, which a small model from scratch did not learn in 2,000 SFT steps (docs/results-synthetic.md).
 * Text prompts show "[i] c2 g5".
 *
 * Relevance grades are the gold items' grades (1…grades), so the reward code's slate recall and
 * NDCG score a rollout as usual; with `utility_idcg: slate_conditional` the rank reward measures
 * the order of what the slate holds, independently of which items it holds.
 *
 * `gradeNoise` makes ranking harder: with that probability a gold candidate's *shown* grade is
 * redrawn at random (swapped with the gold candidate showing that grade, if any), while its true grade (the reward's) stays, so the best reachable order is no
 * longer perfect. Every example is generated from (seed, split, index) alone.
 */
import { exampleRng } from "../seed.js";
import type { RankingExample } from "../types.js";

export type SyntheticSplit = "train" | "valid" | "test";

export interface SyntheticOptions {
  /** N, candidates per pool. */
  poolSize: number;
  /** Gold candidates per pool (those of the query's category): the size of the optimal slate. */
  goldSize: number;
  /** Distinct categories (≥ 2: the non-gold candidates need another one). */
  categories: number;
  /** Grade levels 1…grades (≥ goldSize: gold grades are distinct, so the optimal order is unique). */
  grades: number;
  /** Probability that a gold candidate shows a random grade instead of its own, in [0, 1). */
  gradeNoise: number;
  /** Examples per split. */
  examples: Record<SyntheticSplit, number>;
  seed: number;
}

export const DEFAULT_SYNTHETIC_OPTIONS: Readonly<Omit<SyntheticOptions, "seed" | "poolSize">> = Object.freeze({
  goldSize: 4,
  categories: 3,
  grades: 8,
  gradeNoise: 0,
  examples: Object.freeze({ train: 5000, valid: 300, test: 300 }),
});

/** One problem with the options, named by its field (`poolSize`, `goldSize`, …). */
export interface OptionProblem {
  field: keyof SyntheticOptions | `examples.${SyntheticSplit}`;
  message: string;
}

/** The first problem of a set of options, or null when they describe a task. */
export function checkSyntheticOptions(o: SyntheticOptions): OptionProblem | null {
  const posInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!posInt(o.poolSize)) return { field: "poolSize", message: `must be a positive integer, got ${o.poolSize}` };
  if (!posInt(o.goldSize)) return { field: "goldSize", message: `must be a positive integer, got ${o.goldSize}` };
  if (o.goldSize >= o.poolSize) return { field: "goldSize", message: `${o.goldSize} gold candidates leave no other candidate in a pool of ${o.poolSize}` };
  if (!Number.isInteger(o.categories) || o.categories < 2) return { field: "categories", message: `must be an integer ≥ 2 (the non-gold candidates need a category other than the query's), got ${o.categories}` };
  if (!Number.isInteger(o.grades) || o.grades < o.goldSize) return { field: "grades", message: `must be an integer ≥ goldSize (${o.goldSize}) so that gold grades are distinct, got ${o.grades}` };
  if (o.poolSize - o.goldSize > (o.categories - 1) * o.grades) {
    return { field: "poolSize", message: `${o.poolSize - o.goldSize} non-gold candidates need distinct (category, grade) pairs, and ${o.categories - 1} other categories × ${o.grades} grades give only ${(o.categories - 1) * o.grades}: raise categories or grades` };
  }
  if (!(o.gradeNoise >= 0 && o.gradeNoise < 1)) return { field: "gradeNoise", message: `must be in [0, 1), got ${o.gradeNoise}` };
  for (const s of ["train", "valid", "test"] as const) {
    if (!posInt(o.examples[s])) return { field: `examples.${s}`, message: `must be a positive integer, got ${o.examples[s]}` };
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) return { field: "seed", message: `must be a non-negative integer, got ${o.seed}` };
  return null;
}

/** The example `index` of a split. */
export function syntheticExample(o: SyntheticOptions, split: SyntheticSplit, index: number): RankingExample {
  const id = `${split}-${index}`;
  const rng = exampleRng(o.seed, `synthetic/${id}`);
  const query = rng.int(o.categories);
  const goldGrades = rng.shuffle(Array.from({ length: o.grades }, (_, g) => g + 1)).slice(0, o.goldSize);
  // Shown grades start as the true ones; noise gives a gold candidate another grade, swapping
  // with the gold candidate that shows it, so shown (category, grade) pairs stay distinct.
  const shown = goldGrades.slice();
  for (let i = 0; i < shown.length; i++) {
    if (!(rng.next() < o.gradeNoise)) continue;
    const g = 1 + rng.int(o.grades);
    const j = shown.indexOf(g);
    if (j >= 0) shown[j] = shown[i]!;
    shown[i] = g;
  }
  const candidates = goldGrades.map((g, i) => ({ category: query, shownGrade: shown[i]!, grade: g }));
  // The others: distinct (category, grade) pairs of the other categories, uniformly drawn.
  const others = rng.shuffle(Array.from({ length: (o.categories - 1) * o.grades }, (_, k) => k)).slice(0, o.poolSize - o.goldSize);
  for (const k of others) {
    const c = Math.floor(k / o.grades);
    candidates.push({ category: c >= query ? c + 1 : c, shownGrade: 1 + (k % o.grades), grade: 0 });
  }
  // A candidate's id is what it shows ("c2g5", unique in its pool), so a model can name it with
  // one item token (layout.id_tokens: item); the shuffle makes pool position carry no signal.
  const pool = rng.shuffle(candidates.map((c) => ({ id: `c${c.category}g${c.shownGrade}`, text: `c${c.category} g${c.shownGrade}`, grade: c.grade })));
  return {
    id,
    task: "synthetic",
    question: `c${query}`,
    pool: pool.map(({ id: cid, text }) => ({ id: cid, text })),
    relevant: new Map(pool.filter((c) => c.grade > 0).map((c) => [c.id, c.grade])),
  };
}

/** The first `limit` examples of a split (all of them by default). */
export function syntheticExamples(o: SyntheticOptions, split: SyntheticSplit, limit?: number): RankingExample[] {
  const n = Math.min(o.examples[split], limit ?? Infinity);
  return Array.from({ length: n }, (_, i) => syntheticExample(o, split, i));
}

/** Reads a candidate's shown attributes back from its text ("c2 g5"). */
export function parseSyntheticCandidate(text: string): { category: number; grade: number } {
  const m = /^c(\d+) g(\d+)$/.exec(text);
  if (!m) throw new Error(`not a synthetic candidate: "${text}"`);
  return { category: Number(m[1]), grade: Number(m[2]) };
}
