/**
 * The data types shared by the recommendation and multi-hop QA tasks and consumed by the
 * trainer, the prompts and the baselines. One RankingExample is one prompt: a query (a user's
 * history, or a question) and a pool of N candidates in the order they are shown.
 */

/** One candidate of a pool: an item id and its title, or a passage id and "title: text". */
export interface PoolCandidate {
  id: string;
  text: string;
}

/** `synthetic`: the controlled task of src/tasks/synthetic/ (a query category; candidates "c<k> g<v>"). */
export type TaskName = "rec" | "qa" | "synthetic";

export interface RankingExample {
  /** Unique within a split: `user` for rec eval examples, `user@t` for rec training prefixes, the question id for QA. */
  id: string;
  task: TaskName;
  /** Rec: the user's item ids, oldest first. */
  history?: string[];
  /** Rec: the titles of `history` (same length), when the dataset has titles. */
  historyText?: string[];
  /** QA: the question. Synthetic: the query category ("c2"). */
  question?: string;
  /** The pool in display order: position i is shown as [i+1]. Shuffled, so position carries no signal. */
  pool: PoolCandidate[];
  /**
   * Candidate id → grade (> 0 = relevant). Normally every key is in the pool; with
   * `allowMissingPositive` a rec pool may miss its target, which then stays here (so an
   * evaluation counts the miss instead of dropping the query).
   */
  relevant: Map<string, number>;
  /**
   * Pool ids ordered by the first-stage retriever that built the pool (best first), when there
   * is one: SASRec lists for rec retriever pools, BM25 against the question for QA. Used by the
   * `retriever` baseline and by the `retriever` filler of SFT gold targets.
   */
  retrieverRank?: string[];
}

/** A skipped input record and why (see `onError: "skip"`). */
export interface SkippedRecord {
  file: string;
  line: number;
  reason: string;
}

/** What a loader read: nothing is dropped silently, every skipped record is listed. */
export interface LoadReport {
  files: string[];
  records: number;
  skipped: SkippedRecord[];
}

/** `throw` (default): the first bad record is an InputError. `skip`: it is counted in the report. */
export type OnError = "throw" | "skip";
