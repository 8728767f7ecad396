import type { RecDataset } from "./dataset.js";

/** One next-item prediction: a user's history (oldest first) and the item that came next. */
export interface RecInstance {
  user: string;
  /** Index of `target` in the user's full sequence. */
  position: number;
  history: string[];
  target: string;
  /**
   * Training prefixes only: the user's training sequence, which the classic models are fit on
   * (lets a first stage leave it out: `RecModel.scoreLeavingOut`). Not enumerable.
   */
  readonly fitSequence?: readonly string[];
}

export interface RecSplits {
  /** Every prefix of a training user's sequence that ends before the valid target. */
  train: RecInstance[];
  /** Per evaluated user: history = sequence without its last two items, target = second-to-last. */
  valid: RecInstance[];
  /** Per evaluated user: history = sequence without its last item (valid target included), target = last. */
  test: RecInstance[];
  /** What models are fit on: each training user's sequence without its valid and test targets. */
  trainSequences: string[][];
  /** Evaluated users whose sequences were kept out of training entirely. */
  heldOutUsers: number;
  /** Users with fewer than 3 items: not evaluated (no history before the valid target); used whole for training. */
  tooShort: number;
}

export interface SplitOptions {
  /**
   * Who is evaluated: `candidates` (the users of the candidate file, the LLMRank protocol),
   * `all`, or an explicit set. Default: `candidates` when the dataset has a candidate file, else `all`.
   */
  evalUsers?: "candidates" | "all" | ReadonlySet<string>;
  /**
   * Keep evaluated users out of training entirely. Default: true unless every user is evaluated
   * (then the standard leave-one-out protocol applies: everyone trains on their prefix).
   */
  holdOutEvalUsers?: boolean;
  /** Shortest history of a training prefix. Default 1. */
  minHistory?: number;
}

/**
 * Leave-one-out splits without leakage: the last item of each evaluated user is its test target,
 * the one before its valid target, and training examples are prefixes that end before the valid
 * target, so neither target is ever a training target or inside a training history.
 */
export function splitLeaveOneOut(data: RecDataset, opts: SplitOptions = {}): RecSplits {
  const mode = opts.evalUsers ?? (data.candidates ? "candidates" : "all");
  const evalSet: ReadonlySet<string> | null =
    mode === "all" ? null : mode === "candidates" ? new Set(data.candidates?.keys() ?? []) : mode;
  const holdOut = opts.holdOutEvalUsers ?? evalSet !== null;
  const minHistory = Math.max(1, opts.minHistory ?? 1);
  const out: RecSplits = { train: [], valid: [], test: [], trainSequences: [], heldOutUsers: 0, tooShort: 0 };
  for (const [user, seq] of data.sequences) {
    const L = seq.length;
    const evaluated = evalSet === null || evalSet.has(user);
    if (L < 3) {
      out.tooShort++;
      if (!(evaluated && holdOut)) out.trainSequences.push(seq.slice());
      continue;
    }
    if (evaluated) {
      out.valid.push({ user, position: L - 2, history: seq.slice(0, L - 2), target: seq[L - 2]! });
      out.test.push({ user, position: L - 1, history: seq.slice(0, L - 1), target: seq[L - 1]! });
      if (holdOut) {
        out.heldOutUsers++;
        continue;
      }
    }
    const trainPart = seq.slice(0, L - 2);
    out.trainSequences.push(trainPart);
    for (let t = minHistory; t < trainPart.length; t++) {
      // The history is sliced when read, not stored: stored, a user of L items cost L²/2 ids
      // (a 20,000-item line took 1.7 GB; 1,000,000 items exhausted the heap).
      const example = { user, position: t, target: trainPart[t]! } as RecInstance;
      Object.defineProperty(example, "history", { get: () => trainPart.slice(0, t), enumerable: true });
      Object.defineProperty(example, "fitSequence", { value: trainPart, enumerable: false });
      out.train.push(example);
    }
  }
  return out;
}

/** Item → number of occurrences in the training sequences. */
export function itemCounts(trainSequences: readonly (readonly string[])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const seq of trainSequences) for (const i of seq) counts.set(i, (counts.get(i) ?? 0) + 1);
  return counts;
}
