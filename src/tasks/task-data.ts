import { makeRecModel, type BaselineInputs } from "./baselines/index.js";
import { BUNDLED_GAMES_DIR, BUNDLED_HOTPOTQA_FILES } from "./bundled.js";
import { describeReport } from "./load-report.js";
import type { NegativeMix, NegativeStrategy } from "./pools.js";
import { buildQaExamples, splitQa, type QaSplitOptions } from "./qa/examples.js";
import { loadQaFiles } from "./qa/load.js";
import { recStats } from "./rec/dataset.js";
import { RecPoolBuilder } from "./rec/examples.js";
import { loadRecData, type RecFormat } from "./rec/load.js";
import { splitLeaveOneOut, type SplitOptions } from "./rec/splits.js";
import type { LoadReport, OnError, RankingExample, TaskName } from "./types.js";
import { checkSyntheticOptions, DEFAULT_SYNTHETIC_OPTIONS, syntheticExamples, type SyntheticOptions } from "./synthetic/generate.js";
import { InputError } from "../util/errors.js";
import { noUsableRecords } from "./unusable.js";
import { qaDataForRec, recDataForQa } from "./data-kind.js";
import { statSync, readdirSync } from "node:fs";
import { join } from "node:path";

export type SplitName = "train" | "valid" | "test";

export interface TaskDataOptions {
  task: TaskName;
  /** Rec: one path (RecBole directory, sequence file, MovieLens file/directory, JSONL). QA: files or directories of them. Default: bundled data. */
  data?: readonly string[];
  poolSize?: number;
  seed?: number;
  onError?: OnError;
  /** Rec. */
  negatives?: NegativeStrategy | NegativeMix;
  /** Rec: negatives of the training split's pools only (default `negatives`); evaluation pools keep `negatives`. */
  trainNegatives?: NegativeStrategy | NegativeMix;
  allowMissingPositive?: boolean;
  candidates?: string | null;
  format?: RecFormat;
  minRating?: number;
  evalUsers?: SplitOptions["evalUsers"];
  /**
   * Rec: a classic model fitted on the training sequences that orders every pool without a
   * retriever list (`retrieverRank`), e.g. for the SFT filler order. Default none.
   */
  firstStage?: "popularity" | "itemknn" | "markov";
  /**
   * Rec: `shuffled` (default) shows each pool in a random order; `first_stage` in `firstStage`'s
   * order (the model then reranks a first stage; training prefixes are ordered by the first stage
   * fit without their own user, see `RecPoolOptions.orderByRank`).
   */
  poolOrder?: "shuffled" | "first_stage";
  /** QA. */
  distractors?: "bm25" | "random";
  maxWords?: number;
  qaSplit?: QaSplitOptions;
  /** Synthetic: the generator's options (pool size and seed come from `poolSize` and `seed`). */
  synthetic?: Partial<Omit<SyntheticOptions, "poolSize" | "seed">>;
}

/** A loaded task: its splits turned into pools on demand, and what baselines are fit on. */
export interface TaskData {
  task: TaskName;
  report: LoadReport;
  /** Human-readable lines about the data and splits, for CLI output. */
  summary: string[];
  /** The pools of a split, first `limit` instances only when given (pools do not depend on the limit). */
  examples(split: SplitName, limit?: number): RankingExample[];
  /** Training sequences (rec) or the passages of the split (QA) for fitting baselines. */
  baselineInputs(split: SplitName): BaselineInputs;
}

/** Loads a task's data, splits it and prepares pool building: the one entry point for the CLI and the trainer. */
export function loadTaskData(opts: TaskDataOptions): TaskData {
  return opts.task === "rec" ? loadRec(opts) : opts.task === "qa" ? loadQa(opts) : loadSynthetic(opts);
}

function loadSynthetic(opts: TaskDataOptions): TaskData {
  if (opts.data?.length) throw new InputError("the synthetic task generates its data: give no data paths", { field: "task.data" });
  const o: SyntheticOptions = { ...DEFAULT_SYNTHETIC_OPTIONS, ...opts.synthetic, poolSize: opts.poolSize ?? 20, seed: opts.seed ?? 0 };
  o.examples = { ...DEFAULT_SYNTHETIC_OPTIONS.examples, ...opts.synthetic?.examples };
  const problem = checkSyntheticOptions(o);
  if (problem) throw new InputError(problem.message, { field: `synthetic.${problem.field}` });
  return {
    task: "synthetic",
    report: { files: [], records: 0, skipped: [] },
    summary: [
      `synthetic task (seed ${o.seed}): pools of ${o.poolSize}, ${o.goldSize} gold of ${o.categories} categories, grades 1–${o.grades}, grade noise ${o.gradeNoise}`,
      `splits: ${o.examples.train} train / ${o.examples.valid} valid / ${o.examples.test} test prompts`,
    ],
    examples: (split, limit) => syntheticExamples(o, split, limit),
    baselineInputs: () => ({ seed: opts.seed }),
  };
}

function loadRec(opts: TaskDataOptions): TaskData {
  if (opts.poolOrder === "first_stage" && !opts.firstStage) {
    throw new InputError("pool order first_stage shows pools in the first stage's order: set a first stage (popularity, itemknn or markov)", { field: "task.first_stage" });
  }
  const paths = opts.data?.length ? opts.data : [BUNDLED_GAMES_DIR];
  if (paths.length !== 1) throw new InputError(`rec takes one --data path (a directory of RecBole files, a sequence file, a MovieLens file, or a JSONL file), got ${paths.length}`);
  // QA records read as a sequence file would become "users" named by JSON fragments: refused
  // up front, saying which task reads them.
  const wrongTask = qaDataForRec(firstDataFile(paths[0]!));
  if (wrongTask) throw wrongTask;
  const data = loadRecData(paths[0]!, { format: opts.format, candidates: opts.candidates, minRating: opts.minRating, onError: opts.onError });
  const splits = splitLeaveOneOut(data, { evalUsers: opts.evalUsers });
  if (splits.test.length === 0) {
    const users = data.sequences.size;
    throw noUsableRecords(paths[0]!, {
      unit: "user", report: data.report, units: users,
      dropped: [
        [splits.tooShort, "with fewer than 3 items (a history, a valid and a test target are needed)"],
        [users - splits.tooShort, `not among the users of the candidate file (${data.candidateSource ?? "none"})`],
      ],
    });
  }
  const catalog = recStats(data).items;
  const poolSize = opts.poolSize ?? 20; // RecPoolBuilder's default
  if (catalog < poolSize) {
    throw new InputError(`${catalog} distinct item(s) found (${describeReport(data.report)}), fewer than the pool size ${poolSize}: pools of ${poolSize} candidates cannot be built`, { file: paths[0] });
  }
  const builderOpts = {
    poolSize: opts.poolSize, negatives: opts.negatives, seed: opts.seed, allowMissingPositive: opts.allowMissingPositive,
    ranker: opts.firstStage ? makeRecModel(opts.firstStage, splits.trainSequences) : undefined,
    orderByRank: opts.poolOrder === "first_stage",
  };
  const builder = new RecPoolBuilder(data, splits.trainSequences, builderOpts);
  const trainBuilder = opts.trainNegatives === undefined ? builder : new RecPoolBuilder(data, splits.trainSequences, { ...builderOpts, negatives: opts.trainNegatives });
  const st = recStats(data);
  return {
    task: "rec",
    report: data.report,
    summary: [
      `data: ${paths[0]} (${describeReport(data.report)})`,
      `${st.users} users, ${st.items} items, ${st.interactions} interactions; candidates: ${data.candidateSource ?? "none"}`,
      `splits: ${splits.train.length} training prefixes from ${splits.trainSequences.length} users; ${splits.valid.length} valid / ${splits.test.length} test users (${splits.heldOutUsers} held out of training, ${splits.tooShort} too short)`,
    ],
    examples(split, limit) {
      const list = splits[split].slice(0, limit ?? Infinity);
      return list.map((inst) => (split === "train" ? trainBuilder.build(inst, `${inst.user}@${inst.position}`) : builder.build(inst, inst.user)));
    },
    baselineInputs: () => ({ seed: opts.seed, trainSequences: splits.trainSequences }),
  };
}

function loadQa(opts: TaskDataOptions): TaskData {
  const files = opts.data?.length ? expandQaPaths(opts.data) : [...BUNDLED_HOTPOTQA_FILES];
  let loaded;
  try {
    loaded = loadQaFiles(files, { onError: opts.onError });
  } catch (e) {
    throw (e instanceof InputError && files.map(recDataForQa).find((w) => w !== null)) || e;
  }
  const splits = splitQa(loaded.questions, opts.qaSplit);
  if (splits.incomplete.length === loaded.questions.length) {
    const wrongTask = files.map(recDataForQa).find((w) => w !== null);
    if (wrongTask) throw wrongTask;
    throw noUsableRecords(files.join(", "), {
      unit: "question", report: loaded.report, units: loaded.questions.length,
      dropped: [[splits.incomplete.length, "with a supporting paragraph missing from the context"]],
    });
  }
  const cache = new Map<SplitName, ReturnType<typeof buildQaExamples>>();
  const built = (split: SplitName) => {
    let b = cache.get(split);
    if (!b) cache.set(split, (b = buildQaExamples(splits[split], { poolSize: opts.poolSize, distractors: opts.distractors, seed: opts.seed, maxWords: opts.maxWords })));
    return b;
  };
  return {
    task: "qa",
    report: loaded.report,
    summary: [
      `data: ${files.length} file(s) (${describeReport(loaded.report)})`,
      `${loaded.questions.length} unique questions (${loaded.duplicates} duplicate records merged); ${splits.incomplete.length} set aside: a supporting paragraph is missing from the context`,
      `splits: ${splits.train.length} train / ${splits.valid.length} valid / ${splits.test.length} test questions`,
    ],
    examples: (split, limit) => built(split).examples.slice(0, limit ?? Infinity),
    baselineInputs: (split) => ({ seed: opts.seed, corpus: built(split).corpus }),
  };
}

/** The .json/.jsonl names of a folder listing, sorted: the files QA reads from a folder. */
function jsonFiles(names: readonly string[]): string[] {
  return names.filter((n) => /\.jsonl?$/.test(n)).sort();
}

/** The file to inspect for a wrong-task hint: the path, or a folder's first .json/.jsonl file. */
function firstDataFile(path: string): string {
  try {
    if (!statSync(path).isDirectory()) return path;
    const json = jsonFiles(readdirSync(path));
    return json.length > 0 ? join(path, json[0]!) : path;
  } catch {
    return path;
  }
}

/** QA `--data`: files, or directories whose .json/.jsonl files are all read (sorted by name). */
function expandQaPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InputError("no such file or directory", { file: p });
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p);
    const json = jsonFiles(names);
    if (json.length === 0) {
      const rec = names.some((n) => n.endsWith(".inter")) ? "; it holds RecBole .inter files, i.e. recommendation data: set the task to rec (--task rec, or \"task\": {\"task\": \"rec\"})" : "";
      throw new InputError(`no .json or .jsonl file in this directory (task qa reads multi-hop QA records in JSON)${rec}`, { file: p });
    }
    out.push(...json.map((n) => join(p, n)));
  }
  return out;
}
