/**
 * Uncertainty over queries: percentile-bootstrap confidence intervals for a mean, and a paired
 * test for the difference of two systems scored on the same queries. Seeded, so reports are
 * reproducible.
 */
import { Rng } from "../util/random.js";

/** Quantile with linear interpolation between order statistics (R type 7, numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Means of `samples` resamples (with replacement) of `values`. */
function bootstrapMeans(values: readonly number[], samples: number, rng: Rng): number[] {
  const n = values.length;
  const means = new Array<number>(samples);
  for (let b = 0; b < samples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means[b] = s / n;
  }
  return means.sort((x, y) => x - y);
}

/**
 * The mean and its 95% percentile-bootstrap interval. With no values everything is NaN; with
 * `samples` = 0 the interval collapses to the mean.
 */
export function bootstrapMeanCi(values: readonly number[], samples: number, seed: number): { mean: number; ciLow: number; ciHigh: number } {
  const m = mean(values);
  if (values.length === 0 || samples <= 0) return { mean: m, ciLow: m, ciHigh: m };
  const means = bootstrapMeans(values, samples, new Rng(seed));
  return { mean: m, ciLow: quantile(means, 0.025), ciHigh: quantile(means, 0.975) };
}

export interface PairedTestResult {
  /** mean(a − b) over queries. */
  meanDiff: number;
  /** 95% percentile-bootstrap interval of the mean difference. */
  ciLow: number;
  ciHigh: number;
  /** Two-sided p-value of the paired randomization (sign-flip) test. */
  pValue: number;
}

/**
 * Paired comparison of two systems' per-query scores (same query order in `a` and `b`).
 *
 * The p-value comes from a paired randomization test (Smucker, Allan & Carterette 2007
 * recommend it for IR): under the null hypothesis each per-query difference is equally likely
 * to have either sign, so we flip signs at random `samples` times and count how often the
 * absolute mean difference is at least the observed one; p = (count + 1) / (samples + 1), which
 * is never 0. The CI is a percentile bootstrap of the mean difference. Defaults: 10000
 * samples, seed 0 [ours].
 */
export function pairedTest(
  a: readonly number[],
  b: readonly number[],
  opts: { samples?: number; seed?: number } = {},
): PairedTestResult {
  if (a.length !== b.length) throw new RangeError(`pairedTest: ${a.length} scores vs ${b.length}; the test needs one pair per query`);
  if (a.length === 0) throw new RangeError("pairedTest: no queries");
  const samples = opts.samples ?? 10000;
  const diffs = a.map((x, i) => x - b[i]!);
  const observed = mean(diffs);
  const rng = new Rng(opts.seed ?? 0);
  // A tolerance keeps floating-point noise from deciding ties such as an all-zero difference.
  const threshold = Math.abs(observed) - 1e-12;
  let extreme = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (const d of diffs) sum += rng.next() < 0.5 ? -d : d;
    if (Math.abs(sum / diffs.length) >= threshold) extreme++;
  }
  const ci = bootstrapMeanCi(diffs, samples, (opts.seed ?? 0) + 1);
  return { meanDiff: observed, ciLow: ci.ciLow, ciHigh: ci.ciHigh, pValue: (extreme + 1) / (samples + 1) };
}
