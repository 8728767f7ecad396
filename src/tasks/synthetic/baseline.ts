import type { PoolRanker } from "../baselines/types.js";
import type { RankingExample } from "../types.js";
import { parseSyntheticCandidate } from "./generate.js";

/**
 * The rule that solves the synthetic task from what the prompt shows: candidates of the query's
 * category first, each group by shown grade, highest first (ties keep pool order). It reaches the
 * optimum when `gradeNoise` is 0, so it is the ceiling a learned policy can be held against.
 */
export class AttributeRanker implements PoolRanker {
  readonly name = "attributes";

  rankPool(example: RankingExample): string[] {
    const query = Number(/^c(\d+)$/.exec(example.question ?? "")?.[1] ?? NaN);
    const scored = example.pool.map((c, i) => {
      const a = parseSyntheticCandidate(c.text);
      return { id: c.id, i, match: a.category === query ? 1 : 0, grade: a.grade };
    });
    scored.sort((a, b) => b.match - a.match || b.grade - a.grade || a.i - b.i);
    return scored.map((s) => s.id);
  }
}
