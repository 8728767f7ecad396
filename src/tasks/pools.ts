import type { Rng } from "../util/random.js";

/**
 * Negative samplers shared by the pool builders. Every sampler draws without replacement and
 * never returns an id in `exclude` (the positive, the user's history, negatives already chosen);
 * the caller adds what it picked to `exclude`.
 */

export type NegativeStrategy = "random" | "popularity" | "retriever";
/** A mix of strategies: weights (any positive numbers) turned into counts that sum to the number of negatives. */
export type NegativeMix = Partial<Record<NegativeStrategy, number>>;

export const NEGATIVE_STRATEGIES: readonly NegativeStrategy[] = ["retriever", "popularity", "random"];

/** Uniform draws from `catalog` by rejection; gives up (returns fewer) once the catalog is exhausted. */
export function sampleUniform(catalog: readonly string[], rng: Rng, k: number, exclude: Set<string>): string[] {
  const out: string[] = [];
  let attempts = 0;
  const maxAttempts = 50 * k + 1000;
  while (out.length < k && attempts++ < maxAttempts) {
    const id = catalog[rng.int(catalog.length)]!;
    if (exclude.has(id)) continue;
    exclude.add(id);
    out.push(id);
  }
  if (out.length < k) {
    // Dense exclusions (tiny catalogs): fall back to a scan in a random order.
    for (const id of rng.shuffle(catalog.slice())) {
      if (out.length >= k) break;
      if (!exclude.has(id)) {
        exclude.add(id);
        out.push(id);
      }
    }
  }
  return out;
}

/** Popularity-weighted sampling: P(item) ∝ its count in the training sequences. */
export class PopularitySampler {
  private readonly ids: string[];
  private readonly cumulative: Float64Array;

  constructor(counts: ReadonlyMap<string, number>) {
    // Sorted by count so that the rejection fallback scan below prefers popular items.
    const entries = [...counts].filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    this.ids = entries.map(([id]) => id);
    this.cumulative = new Float64Array(entries.length);
    let total = 0;
    entries.forEach(([, c], i) => (this.cumulative[i] = total += c));
  }

  get size(): number {
    return this.ids.length;
  }

  sample(rng: Rng, k: number, exclude: Set<string>): string[] {
    const out: string[] = [];
    const total = this.cumulative[this.cumulative.length - 1] ?? 0;
    let attempts = 0;
    while (out.length < k && total > 0 && attempts++ < 50 * k + 1000) {
      const id = this.ids[upperBound(this.cumulative, rng.next() * total)]!;
      if (exclude.has(id)) continue;
      exclude.add(id);
      out.push(id);
    }
    for (const id of this.ids) {
      if (out.length >= k) break;
      if (!exclude.has(id)) {
        exclude.add(id);
        out.push(id);
      }
    }
    return out;
  }
}

/** First index i with cumulative[i] > x. */
function upperBound(cumulative: Float64Array, x: number): number {
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The first `k` ids of a ranked list that are not excluded (retriever negatives: the hardest ones). */
export function takeTop(ranked: readonly string[], k: number, exclude: Set<string>): string[] {
  const out: string[] = [];
  for (const id of ranked) {
    if (out.length >= k) break;
    if (exclude.has(id)) continue;
    exclude.add(id);
    out.push(id);
  }
  return out;
}

/**
 * Turns a strategy or a mix into counts per strategy summing to `total` (largest remainder,
 * ties in the order retriever, popularity, random).
 */
export function allocateNegatives(negatives: NegativeStrategy | NegativeMix, total: number): Map<NegativeStrategy, number> {
  const mix: NegativeMix = typeof negatives === "string" ? { [negatives]: 1 } : negatives;
  const entries = NEGATIVE_STRATEGIES.filter((s) => (mix[s] ?? 0) > 0).map((s) => [s, mix[s]!] as const);
  for (const [s, w] of Object.entries(mix)) {
    if (!NEGATIVE_STRATEGIES.includes(s as NegativeStrategy)) throw new Error(`unknown negative strategy "${s}" (allowed: ${NEGATIVE_STRATEGIES.join(", ")})`);
    if (!(w! >= 0) || !Number.isFinite(w)) throw new Error(`negative mix weight for "${s}" must be a finite number ≥ 0, got ${w}`);
  }
  if (entries.length === 0) throw new Error("negative mix has no positive weight");
  const sum = entries.reduce((s, [, w]) => s + w, 0);
  const exact = entries.map(([s, w]) => [s, (w / sum) * total] as const);
  const counts = new Map(exact.map(([s, x]) => [s, Math.floor(x)]));
  let left = total - [...counts.values()].reduce((a, b) => a + b, 0);
  const byRemainder = [...exact].sort((a, b) => (b[1] - Math.floor(b[1])) - (a[1] - Math.floor(a[1])));
  for (let i = 0; left > 0; i = (i + 1) % byRemainder.length, left--) {
    const s = byRemainder[i]![0];
    counts.set(s, counts.get(s)! + 1);
  }
  return counts;
}

/** Parses `random`, `popularity`, `retriever` or a mix such as `retriever:10,popularity:5,random:4`. */
export function parseNegatives(text: string): NegativeStrategy | NegativeMix {
  if ((NEGATIVE_STRATEGIES as readonly string[]).includes(text)) return text as NegativeStrategy;
  const mix: NegativeMix = {};
  for (const part of text.split(",")) {
    const [name, weight] = part.split(":");
    if (!(NEGATIVE_STRATEGIES as readonly string[]).includes(name ?? "") || weight === undefined || !(Number(weight) >= 0)) {
      throw new Error(`negatives must be one of ${NEGATIVE_STRATEGIES.join(", ")} or a mix like "retriever:10,popularity:5,random:4"; got "${text}"`);
    }
    mix[name as NegativeStrategy] = Number(weight);
  }
  return mix;
}
