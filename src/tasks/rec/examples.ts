import type { Rng } from "../../util/random.js";
import { rankByScores, type PoolRanker, type RecModel } from "../baselines/types.js";
import { allocateNegatives, PopularitySampler, sampleUniform, takeTop, type NegativeMix, type NegativeStrategy } from "../pools.js";
import { exampleRng } from "../seed.js";
import type { RankingExample } from "../types.js";
import { catalogOf, type RecDataset } from "./dataset.js";
import { itemCounts, type RecInstance } from "./splits.js";

export interface RecPoolOptions {
  /** N, the pool size (1 positive + N−1 negatives). Default 20. */
  poolSize?: number;
  /** How negatives are chosen: one strategy or a weighted mix. Default `random`. */
  negatives?: NegativeStrategy | NegativeMix;
  /** Seed of all pool sampling and shuffling (per example: see exampleRng). Default 0. */
  seed?: number;
  /**
   * Retriever pools only: take the retriever's top items as they are, so the target is in the pool
   * only when the retriever found it (the decoupled-pipeline setting). Default false: the target
   * is inserted and the negatives are the top non-target items.
   */
  allowMissingPositive?: boolean;
  /** Fills retriever slots when a user has no list or a list too short after exclusions. Default `popularity`. */
  fallback?: "popularity" | "random";
  /** A fitted classic model used as the first stage instead of the dataset's candidate file. */
  retriever?: RecModel;
  /** How many candidates a model retriever returns per user. Default 100 (like Games-6k.sasrec). */
  retrieverDepth?: number;
  /** Fills `retrieverRank` of pools that did not come from a retriever (e.g. for SFT filler order). */
  ranker?: PoolRanker & Partial<Pick<RecModel, "scoreLeavingOut">>;
  /**
   * Show the pool in `retrieverRank` order instead of shuffled (a reranker's input, as RankGPT
   * shows a first stage's order). A `RecModel` ranker then scores a training prefix without the
   * user's own training sequence (`scoreLeavingOut`): fit on it, it would put the prefix's target
   * first far more often than it can for an evaluation user. Default false.
   */
  orderByRank?: boolean;
  /** Keep only the most recent items of the history. Default 50. */
  maxHistory?: number;
}

export interface RecPoolStats {
  examples: number;
  /** Pools whose target is not in the pool (only with allowMissingPositive). */
  missingPositive: number;
  /** Negatives drawn by the fallback because a retriever list was missing or ran out. */
  fallbackNegatives: number;
  /** Examples of users without a retriever list. */
  usersWithoutCandidates: number;
}

/**
 * Builds rec pools: the target plus N−1 negatives, never an item of the user's history or the
 * target itself, no duplicates, shuffled so the target's position is uniform (or shown in a first
 * stage's order: `orderByRank`). Deterministic:
 * example `id`'s pool depends only on the seed, the id and the data.
 */
export class RecPoolBuilder {
  readonly stats: RecPoolStats = { examples: 0, missingPositive: 0, fallbackNegatives: 0, usersWithoutCandidates: 0 };
  private readonly poolSize: number;
  private readonly counts: Map<NegativeStrategy, number>;
  private readonly catalog: string[];
  private readonly popularity: PopularitySampler;

  constructor(
    private readonly data: RecDataset,
    trainSequences: readonly (readonly string[])[],
    private readonly opts: RecPoolOptions = {},
  ) {
    this.poolSize = opts.poolSize ?? 20;
    if (!Number.isInteger(this.poolSize) || this.poolSize < 2) throw new Error(`poolSize must be an integer ≥ 2, got ${this.poolSize}`);
    this.counts = allocateNegatives(opts.negatives ?? "random", this.poolSize - 1);
    this.catalog = catalogOf(data).sort();
    this.popularity = new PopularitySampler(itemCounts(trainSequences));
    if (this.catalog.length < this.poolSize) throw new Error(`the catalog has ${this.catalog.length} items, fewer than the pool size ${this.poolSize}`);
  }

  /** The pool for one instance; `id` defaults to the user for valid/test and `user@position` for training prefixes. */
  build(inst: RecInstance, id = inst.user): RankingExample {
    const rng = exampleRng(this.opts.seed ?? 0, id);
    const exclude = new Set<string>([...inst.history, inst.target]);
    const chosen: string[] = [];
    let retrieved: readonly string[] | undefined;
    let positiveIn = true;
    const nRetriever = this.counts.get("retriever") ?? 0;
    if (nRetriever > 0) {
      retrieved = this.retrieverList(inst);
      if (!retrieved) this.stats.usersWithoutCandidates++;
      let got: string[];
      if (this.opts.allowMissingPositive) {
        // The target competes for the retriever's slots like any other item.
        exclude.delete(inst.target);
        got = takeTop(retrieved ?? [], nRetriever + 1, exclude);
        exclude.add(inst.target);
        // Without the target in its top slots, the retriever supplies one item more: the pool stays at N.
        positiveIn = got.includes(inst.target);
        if (positiveIn) got = got.filter((i) => i !== inst.target);
      } else {
        got = takeTop(retrieved ?? [], nRetriever, exclude);
      }
      const wanted = nRetriever + (positiveIn ? 0 : 1);
      if (got.length < wanted) {
        const missing = wanted - got.length;
        this.stats.fallbackNegatives += missing;
        got.push(...this.sample(this.opts.fallback ?? "popularity", rng, missing, exclude));
      }
      chosen.push(...got);
    }
    chosen.push(...this.sample("popularity", rng, this.counts.get("popularity") ?? 0, exclude));
    chosen.push(...this.sample("random", rng, this.counts.get("random") ?? 0, exclude));
    if (positiveIn) chosen.push(inst.target);
    else this.stats.missingPositive++;
    rng.shuffle(chosen);
    this.stats.examples++;
    const example = this.example(id, inst, chosen);
    if (retrieved) {
      const rankOf = new Map(retrieved.map((item, r) => [item, r] as const));
      example.retrieverRank = chosen.map((item, pos) => ({ item, key: rankOf.get(item) ?? retrieved.length + pos })).sort((a, b) => a.key - b.key).map((e) => e.item);
    } else if (this.opts.ranker) {
      const r = this.opts.ranker;
      if (this.opts.orderByRank && inst.fitSequence) {
        // A training prefix: its order must not come from a fit on its own user (see orderByRank).
        if (typeof r.scoreLeavingOut !== "function") throw new Error(`ranker "${r.name}" cannot score a training pool without its own user (no scoreLeavingOut), so it cannot order training pools`);
        example.retrieverRank = rankByScores(example, r.scoreLeavingOut(example.history!, example.pool.map((c) => c.id), inst.fitSequence));
      } else {
        example.retrieverRank = r.rankPool(example);
      }
    }
    if (this.opts.orderByRank && example.retrieverRank) {
      const byId = new Map(example.pool.map((c) => [c.id, c] as const));
      example.pool = example.retrieverRank.map((id) => byId.get(id)!);
    }
    return example;
  }

  private retrieverList(inst: RecInstance): readonly string[] | undefined {
    if (this.opts.retriever) return this.opts.retriever.recommend(inst.history, this.opts.retrieverDepth ?? 100, new Set(inst.history));
    return this.data.candidates?.get(inst.user);
  }

  private sample(strategy: "popularity" | "random", rng: Rng, k: number, exclude: Set<string>): string[] {
    if (k <= 0) return [];
    const got = strategy === "popularity" ? this.popularity.sample(rng, k, exclude) : [];
    // Items never seen in training have no popularity; uniform draws complete the pool.
    if (got.length < k) got.push(...sampleUniform(this.catalog, rng, k - got.length, exclude));
    return got;
  }

  private example(id: string, inst: RecInstance, pool: string[]): RankingExample {
    const maxHistory = this.opts.maxHistory ?? 50;
    const history = inst.history.slice(-maxHistory);
    const titles = this.data.titles;
    const example: RankingExample = {
      id,
      task: "rec",
      history,
      pool: pool.map((item) => ({ id: item, text: titles.get(item) ?? `item ${item}` })),
      relevant: new Map([[inst.target, 1]]),
    };
    if (titles.size > 0) example.historyText = history.map((item) => titles.get(item) ?? `item ${item}`);
    return example;
  }
}

/** Builds the pools of a list of instances; training prefixes get ids `user@position`. */
export function buildRecExamples(
  instances: readonly RecInstance[],
  data: RecDataset,
  trainSequences: readonly (readonly string[])[],
  opts: RecPoolOptions & { idStyle?: "user" | "user@position" } = {},
): { examples: RankingExample[]; stats: RecPoolStats } {
  const builder = new RecPoolBuilder(data, trainSequences, opts);
  const style = opts.idStyle ?? "user";
  const examples = instances.map((inst) => builder.build(inst, style === "user" ? inst.user : `${inst.user}@${inst.position}`));
  return { examples, stats: builder.stats };
}
