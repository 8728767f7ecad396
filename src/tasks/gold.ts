import type { Rng } from "../util/random.js";
import type { RankingExample } from "./types.js";

export interface GoldTargetOptions {
  /** Slate size: gold plus filler up to this many (n_max). Default 10. */
  nMax?: number;
  /** Ranking size (k_max). Default 5. */
  kMax?: number;
  /**
   * Which non-gold pool items fill the slate after the gold ones: `retriever` = best first by
   * `example.retrieverRank` (hard negatives; required then), `random` = a random draw from `rng`,
   * `pool` = in pool order. Default `retriever` when the example has a retrieverRank, else `random`.
   */
  filler?: "retriever" | "random" | "pool";
  /** Needed for `filler: "random"`. */
  rng?: Rng;
  /**
   * Order of the slate. `position` (default): ascending pool position, so the slate reads as an
   * unordered set and its order reveals nothing about which ids are gold. `gold-first`: gold ids,
   * then filler in filler order. `random`: a random order from `rng` (the slate as a set, for
   * models that name candidates by item tokens and do not see positions).
   */
  slateOrder?: "position" | "gold-first" | "random";
}

/** A target completion in 1-based pool positions. */
export interface GoldTarget {
  slate: number[];
  ranking: number[];
}

/**
 * The SFT target of an example (SPEC §5): slate = gold items (by grade, highest first; at most
 * n_max) plus filler from the pool up to n_max; ranking = gold first by grade (ties by pool
 * position), then filler in filler order, up to k_max. Gold ids that are not in the pool
 * (retriever pools that missed the target) cannot be generated and are left out.
 */
export function goldTarget(example: RankingExample, opts: GoldTargetOptions = {}): GoldTarget {
  const nMax = Math.min(opts.nMax ?? 10, example.pool.length);
  const kMax = Math.min(opts.kMax ?? 5, nMax);
  if (nMax < 1 || kMax < 1) throw new Error(`goldTarget: nMax and kMax must be ≥ 1 (got ${opts.nMax}, ${opts.kMax}) and the pool non-empty`);
  const position = new Map(example.pool.map((c, i) => [c.id, i + 1]));
  const gold = example.pool
    .map((c, i) => ({ pos: i + 1, grade: example.relevant.get(c.id) ?? 0 }))
    .filter((g) => g.grade > 0)
    .sort((a, b) => b.grade - a.grade || a.pos - b.pos)
    .map((g) => g.pos)
    .slice(0, nMax);
  const goldSet = new Set(gold);
  const filler = fillerOrder(example, opts, position).filter((p) => !goldSet.has(p)).slice(0, nMax - gold.length);
  const slate = [...gold, ...filler];
  return { slate: orderSlate(slate, opts), ranking: [...gold, ...filler].slice(0, kMax) };
}

function orderSlate(slate: number[], opts: GoldTargetOptions): number[] {
  const order = opts.slateOrder ?? "position";
  if (order === "position") return slate.sort((a, b) => a - b);
  if (order === "gold-first") return slate;
  if (!opts.rng) throw new Error('goldTarget: slateOrder "random" needs an rng');
  return opts.rng.shuffle(slate);
}

function fillerOrder(example: RankingExample, opts: GoldTargetOptions, position: Map<string, number>): number[] {
  const kind = opts.filler ?? (example.retrieverRank ? "retriever" : "random");
  const all = example.pool.map((_, i) => i + 1);
  if (kind === "pool") return all;
  if (kind === "random") {
    if (!opts.rng) throw new Error('goldTarget: filler "random" needs an rng');
    return opts.rng.shuffle(all);
  }
  if (!example.retrieverRank) throw new Error(`goldTarget: filler "retriever" needs example.retrieverRank (example "${example.id}")`);
  return example.retrieverRank.map((id) => {
    const p = position.get(id);
    if (p === undefined) throw new Error(`goldTarget: retrieverRank of example "${example.id}" names "${id}", which is not in the pool`);
    return p;
  });
}

/** What SFT teaches: both phases (`gold`), or one phase solved and the other random. */
export type SftTargetKind = "gold" | "slate_only" | "rank_only";

/**
 * An SFT target that solves one phase only, so RL can start where one phase is right and the
 * other is not (the credit-assignment experiment, docs/results-synthetic.md):
 * - `slate_only`: the gold target's slate, its ranking a random draw from the slate in random order;
 * - `rank_only`: a random slate of the gold slate's size, ranked in its best order under NDCG
 *   (gold items by grade, highest first; then the others in random order), i.e. the ranking a
 *   perfect ranker gives the slate it is handed.
 * `gold` is `goldTarget`. The draws come from `rng`.
 */
export function sftTarget(example: RankingExample, kind: SftTargetKind, opts: GoldTargetOptions & { rng: Rng }): GoldTarget {
  const gold = goldTarget(example, opts);
  if (kind === "gold") return gold;
  const k = gold.ranking.length;
  if (kind === "slate_only") return { slate: gold.slate, ranking: opts.rng.shuffle([...gold.slate]).slice(0, k) };
  const drawn = opts.rng.shuffle(example.pool.map((_, i) => i + 1)).slice(0, gold.slate.length);
  const grade = (p: number) => example.relevant.get(example.pool[p - 1]!.id) ?? 0;
  // Array.prototype.sort is stable: equal grades keep the random draw order.
  const ranking = [...drawn].sort((a, b) => grade(b) - grade(a)).slice(0, k);
  return { slate: orderSlate(drawn, opts), ranking };
}
