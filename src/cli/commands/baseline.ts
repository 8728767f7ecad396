import type { Command } from "../main.js";
import { InputError } from "../../util/errors.js";
import { metricTable } from "../format.js";
import { intOption, parseCommand, requireString, UsageError, type CommandSpec, numberOption } from "../args.js";
import { evaluateRun, type QueryRun } from "../../eval/metrics.js";
import { writeGoldJsonl, writeRunJsonl } from "../../eval/run-files.js";
import { makeBaseline, QA_BASELINES, REC_BASELINES } from "../../tasks/baselines/index.js";
import { parseNegatives } from "../../tasks/pools.js";
import { loadTaskData, type SplitName } from "../../tasks/task-data.js";
import type { RecFormat } from "../../tasks/rec/load.js";

/**
 * The metrics this command reports: those of COMPARABLE_METRICS a table shows, cut at 5 like the
 * learned models' (MRR as mrr@5; `fgrpo score --metrics mrr` gives trec_eval's uncut value).
 */
export const BASELINE_METRICS = ["recall@1", "recall@3", "recall@5", "ndcg@1", "ndcg@3", "ndcg@5", "hit@1", "hit@3", "hit@5", "mrr@5"] as const;

const spec: CommandSpec = {
  name: "baseline",
  summary: "rank a split's candidate pools with a classic baseline and report Recall/NDCG/Hit@{1,3,5} and MRR@5",
  usage:
    "fgrpo baseline --task rec|qa --method NAME [--data PATH]... [--split valid|test] [--pool-size 20] " +
    "[--negatives random|popularity|retriever|MIX] [--distractors bm25|random] [--seed S] [--json] [--write-run FILE] [--write-gold FILE] [--limit N]",
  options: {
    task: { type: "string", valueName: "rec|qa", description: "sequential recommendation or multi-hop QA" },
    method: { type: "string", valueName: "NAME", description: `rec: ${REC_BASELINES.join(", ")}; qa: ${QA_BASELINES.join(", ")}` },
    data: {
      type: "string",
      multiple: true,
      valueName: "PATH",
      description: "rec: ONE directory of RecBole files, sequence file, MovieLens file/dir or JSONL; qa: files/directories (repeatable). Default: bundled data",
    },
    split: { type: "string", valueName: "valid|test", description: "which split to rank (default test)" },
    "pool-size": { type: "string", valueName: "N", description: "candidates per pool (default 20)" },
    negatives: { type: "string", valueName: "STRATEGY", description: 'rec negatives: random (default), popularity, retriever, or a mix "retriever:10,popularity:5,random:4"' },
    "allow-missing-positive": { type: "boolean", description: "rec retriever pools: keep the retriever's top items as they are (the target may be absent)" },
    candidates: { type: "string", valueName: "EXT", description: "RecBole candidate file extension (default sasrec; none to ignore)" },
    format: { type: "string", valueName: "FORMAT", description: "rec data format: recbole, sequences, movielens, jsonl (default: detected)" },
    "min-rating": { type: "string", valueName: "R", description: "MovieLens: keep ratings ≥ R (default: all)" },
    distractors: { type: "string", valueName: "bm25|random", description: "qa: how pools are padded to N (default bm25)" },
    "max-words": { type: "string", valueName: "N", description: "qa: passage budget in whitespace words (default 128)" },
    "skip-bad": { type: "boolean", description: "skip malformed records (counted and reported) instead of stopping" },
    seed: { type: "string", valueName: "S", description: "seed of pools, the random baseline and the bootstrap (default 0)" },
    limit: { type: "string", valueName: "N", description: "rank only the first N queries of the split" },
    json: { type: "boolean", description: "print one JSON object metric → mean" },
    "write-run": { type: "string", valueName: "FILE", description: "write the rankings as a JSONL run (ids = candidate ids) for `fgrpo score`" },
    "write-gold": { type: "string", valueName: "FILE", description: "write the split's gold judgments as JSONL for `fgrpo score`" },
  },
};

function choice<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[], fallback: T): T {
  const v = values[name] ?? fallback;
  if (!(allowed as readonly unknown[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${String(v)}"`);
  return v as T;
}

const baseline: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const { values } = parsed;
    const task = choice(values, "task", ["rec", "qa"] as const, requireString(values, "task") as "rec");
    const method = requireString(values, "method");
    const allowedMethods: readonly string[] = task === "rec" ? REC_BASELINES : QA_BASELINES;
    if (!allowedMethods.includes(method)) throw new UsageError(`--method for ${task} must be one of ${allowedMethods.join(", ")}, got "${method}"`);
    const split = choice(values, "split", ["valid", "test"] as const, "test") as SplitName;
    const seed = intOption(values, "seed", 0);
    const poolSize = intOption(values, "pool-size", 20);
    if (poolSize < 2) throw new UsageError("--pool-size must be ≥ 2");
    const limit = values.limit === undefined ? undefined : intOption(values, "limit", 0);
    if (limit !== undefined && limit < 1) throw new UsageError("--limit must be ≥ 1");
    let negatives;
    try {
      negatives = parseNegatives(String(values.negatives ?? (method === "retriever" ? "retriever" : "random")));
    } catch (e) {
      throw new UsageError(`--negatives: ${(e as Error).message}`);
    }
    const candidates = values.candidates === undefined ? undefined : values.candidates === "none" ? null : String(values.candidates);
    const format = values.format === undefined ? undefined : choice(values, "format", ["recbole", "sequences", "movielens", "jsonl"] as const, "recbole") as RecFormat;

    const data = loadTaskData({
      task, data: values.data as string[] | undefined, poolSize, seed, negatives, candidates, format,
      onError: values["skip-bad"] ? "skip" : "throw",
      allowMissingPositive: Boolean(values["allow-missing-positive"]),
      minRating: values["min-rating"] === undefined ? undefined : numberOption(values, "min-rating", 0),
      distractors: choice(values, "distractors", ["bm25", "random"] as const, "bm25"),
      maxWords: intOption(values, "max-words", 128),
    });
    const examples = data.examples(split, limit);
    if (examples.length === 0) {
      throw new InputError(`the ${split} split is empty (${data.summary[0] ?? "no usable records"})`, { file: (values.data as string[] | undefined)?.join(", ") ?? "the bundled data" });
    }
    let ranker;
    try {
      ranker = makeBaseline(task, method, data.baselineInputs(split));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const retrieverPools = values.negatives === undefined || String(values.negatives) === "retriever";
    if (task === "rec" && method === "retriever" && retrieverPools && examples.some((ex) => ex.retrieverRank === undefined)) {
      // Pools fall back to sampled negatives when the data has no candidate lists, so "use
      // negatives retriever" would not help: say what is missing.
      throw new InputError(`the retriever baseline needs a retriever's candidate lists, and this data has none (${data.summary[1] ?? ""}); for RecBole data put <name>.<ext> candidate files beside the .inter files (--candidates EXT, default sasrec)`, { file: (values.data as string[] | undefined)?.join(", ") ?? "the bundled data" });
    }
    // Everything is computed before anything is written: an error leaves no half-written files.
    const run = new Map<string, QueryRun>();
    for (const ex of examples) {
      try {
        run.set(ex.id, { id: ex.id, ranking: ranker.rankPool(ex) });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const gold = new Map(examples.map((ex) => [ex.id, ex.relevant]));
    const summary = evaluateRun(run, gold, BASELINE_METRICS, { seed });
    if (values["write-run"]) writeRunJsonl(String(values["write-run"]), run);
    if (values["write-gold"]) writeGoldJsonl(String(values["write-gold"]), gold);
    const withPositive = examples.filter((ex) => ex.pool.some((c) => ex.relevant.has(c.id))).length;
    if (values.json) {
      console.log(JSON.stringify(Object.fromEntries(BASELINE_METRICS.map((m) => [m, summary.metrics[m]!.mean]))));
      return 0;
    }
    for (const line of data.summary) console.log(line);
    console.log(`${task} ${split}: method ${method}, ${summary.numQueries} queries, pools of ${poolSize} (${withPositive} with a relevant candidate), seed ${seed}`);
    console.log(metricTable(summary, BASELINE_METRICS));
    return 0;
  },
};
export default baseline;
