/**
 * Data parallelism for the trainer over a c10d process group (docs/distributed.md). Every rank
 * draws the same step (the same prompts, the same seeds, from the same data generator), keeps
 * its share of the prompts — whole groups, so advantages stay group-relative — and generates and
 * scores only those. Gradients are averaged across ranks in a few flat buckets before one
 * identical optimizer step everywhere; logged metrics are reduced; validation is sharded and
 * gathered; rank 0 alone writes files.
 *
 * Equal to one process at the same global batch: each rank's loss is a mean over its share, so
 * the average of the ranks' gradients, weighted by the number of terms each mean has (tokens for
 * SFT's cross-entropy and GRPO's dapo, rollouts otherwise; bnpo keeps TRL's per-rank token mean), is the gradient of the global mean.
 */
import * as T from "../../torch/index.js";
import type { GradientReducer, ProcessGroup } from "../../torch/distributed.js";
import { InputError } from "../../util/errors.js";
import { JsonlLogger } from "./logger.js";
import type { GlobalRewards } from "./rollouts.js";

/** DDP's default bucket size: large enough for few collectives, small enough to bound the copies. */
const BUCKET_BYTES = 25 << 20;
/** DDP's first bucket (1 MB): small, so that the first all-reduce starts early in the backward. */
const FIRST_BUCKET_BYTES = 1 << 20;

export interface DataParallelOptions {
  /** Gradient bucket cap in bytes (default 25 MB, DDP's); the first bucket is at most 1 MB. */
  bucketCapBytes?: number;
  /** Start bucket all-reduces during the backward pass (default true); false reduces after it. */
  overlap?: boolean;
}

/** Record fields summed across ranks (counts and throughputs); `ms_*` and `logprob_mismatch` take the max; the rest the mean. */
const SUMMED = new Set(["completion_tokens", "rollout_tokens_per_s", "rollouts_per_s"]);
const MAXED = (key: string) => key.startsWith("ms_") || key === "logprob_mismatch";

export class DataParallel {
  /** Seconds spent in gradient all-reduces since the last `takeReduceMs()`. */
  private reduceMs = 0;
  private reducer: { params: T.Tensor[]; r: GradientReducer } | null = null;
  /** Gradient buckets whose all-reduce started during a backward pass, and all buckets, since the last `takeOverlap()`. */
  private bucketsInBackward = 0;
  private buckets = 0;
  readonly bucketCapBytes: number;
  /** Whether `beforeBackward` arms the reducer (mutable: the benchmark alternates both modes). */
  overlap: boolean;

  constructor(readonly group: ProcessGroup, opts: DataParallelOptions = {}) {
    this.bucketCapBytes = opts.bucketCapBytes ?? BUCKET_BYTES;
    this.overlap = opts.overlap ?? true;
  }

  get rank(): number {
    return this.group.rank;
  }
  get worldSize(): number {
    return this.group.worldSize;
  }
  /** Rank 0 writes logs, checkpoints and reports. */
  get isMain(): boolean {
    return this.group.rank === 0;
  }

  /** Fails fast (on every rank alike) when a batch of `count` prompts cannot be split evenly. */
  checkDivisible(count: number, minibatches: number, field: string): void {
    if (count % (minibatches * this.worldSize) !== 0) {
      const by = minibatches > 1 ? `num_minibatches × world size = ${minibatches} × ${this.worldSize}` : `the world size ${this.worldSize}`;
      throw new InputError(`${count} is not divisible by ${by}: every rank takes an equal share of each minibatch's prompts`, { field });
    }
  }

  /**
   * The indices (into a step's `count` prompts) this rank handles: within each of the
   * `minibatches` consecutive blocks, the rank's contiguous slice, so a rank's k-th minibatch is
   * its part of the global k-th minibatch.
   */
  share(count: number, minibatches = 1): number[] {
    return this.shareOf(this.rank, count, minibatches);
  }

  /** Rank 0's parameters everywhere (they agree already when every rank seeds alike; this makes it so). */
  broadcastParameters(params: Map<string, T.Tensor>): void {
    T.noGrad(() => {
      for (const bucket of buckets([...params.values()])) {
        T.tidy(() => {
          const flat = T.cat(bucket.map((p) => p.reshape(-1)));
          this.group.broadcast([flat], 0);
          let off = 0;
          for (const p of bucket) {
            p.copy_(flat.narrow(0, off, p.numel).reshape(...p.shape));
            off += p.numel;
          }
        });
      }
    });
  }

  /**
   * Call right before the backward pass of `params` (`weight`: the number of terms this rank's
   * loss averages): the backward then starts each bucket's all-reduce as soon as its gradients
   * are complete, overlapping communication with the rest of the backward.
   */
  beforeBackward(params: T.Tensor[], weight: number): void {
    if (this.overlap) this.reducerFor(params).arm(weight);
  }

  /**
   * Replaces each parameter's gradient by the weighted mean over ranks (weight = the number of
   * terms this rank's loss averages) and returns the loss of the whole batch. A parameter gets a
   * gradient when any rank produced one. Non-finite values propagate, so every rank skips alike.
   * The time counted is what the step waits for after its backward (the exposed all-reduce).
   */
  reduceGradients(params: T.Tensor[], loss: number, weight: number): number {
    const t0 = performance.now();
    const r = this.reducerFor(params).finish(loss, weight);
    this.reduceMs += performance.now() - t0;
    this.bucketsInBackward += r.bucketsInBackward;
    this.buckets += r.buckets;
    return r.loss;
  }

  /** The fraction of gradient buckets whose all-reduce started during the backward since the last call. */
  takeOverlap(): number {
    const f = this.buckets > 0 ? this.bucketsInBackward / this.buckets : 0;
    this.bucketsInBackward = this.buckets = 0;
    return f;
  }

  /** The reducer of this parameter list (hooks on each parameter); a different list replaces it. */
  private reducerFor(params: T.Tensor[]): GradientReducer {
    const cur = this.reducer;
    if (cur && cur.params.length === params.length && cur.params.every((p, i) => p === params[i])) return cur.r;
    cur?.r.dispose();
    const r = this.group.gradientReducer(params, this.bucketCapBytes, Math.min(FIRST_BUCKET_BYTES, this.bucketCapBytes));
    this.reducer = { params: [...params], r };
    return r;
  }

  /** Removes the gradient hooks (the parameters are then free to go). */
  dispose(): void {
    this.reducer?.r.dispose();
    this.reducer = null;
  }

  /** Milliseconds spent reducing gradients since the last call. */
  takeReduceMs(): number {
    const ms = this.reduceMs;
    this.reduceMs = 0;
    return ms;
  }

  /**
   * The rewards of the whole step from every rank's share (GlobalRewards): gathered in rank
   * order, then put back at the rows one process would hold them in.
   */
  globalRewards(prompts: number, minibatches: number, groupSize: number): GlobalRewards {
    return (gen, rank) => {
      const rows = this.share(prompts, minibatches).flatMap((p) => Array.from({ length: groupSize }, (_, j) => p * groupSize + j));
      const gathered = T.tidy(() => this.group.allGather(T.tensor(Float64Array.from([...gen, ...rank]))).map((t) => t.toFloat64Array()));
      const all = { gen: new Float64Array(prompts * groupSize), rank: new Float64Array(prompts * groupSize), rows };
      const n = gen.length;
      gathered.forEach((values, r) => {
        const theirs = this.shareOf(r, prompts, minibatches).flatMap((p) => Array.from({ length: groupSize }, (_, j) => p * groupSize + j));
        theirs.forEach((row, k) => {
          all.gen[row] = values[k]!;
          all.rank[row] = values[n + k]!;
        });
      });
      return all;
    };
  }

  private shareOf(rank: number, count: number, minibatches: number): number[] {
    const block = count / minibatches, slice = block / this.worldSize;
    const out: number[] = [];
    for (let m = 0; m < minibatches; m++) for (let i = 0; i < slice; i++) out.push(m * block + rank * slice + i);
    return out;
  }

  /** This rank's contiguous part [from, to) of `count` items (validation), sizes differing by at most one. */
  range(count: number): [number, number] {
    const at = (r: number) => Math.floor((count * r) / this.worldSize);
    return [at(this.rank), at(this.rank + 1)];
  }

  /** Every rank's token sequences (its `range` part), concatenated in rank order. */
  gatherSequences(local: number[][], count: number): number[][] {
    const rows = Math.ceil(count / this.worldSize);
    const lengths = T.tidy(() => {
      const l = T.tensor(Int32Array.from({ length: rows }, (_, i) => local[i]?.length ?? 0));
      return this.group.allGather(l).map((t) => t.toArray());
    });
    const width = Math.max(1, ...lengths.flat());
    const data = T.tidy(() => {
      const buf = new Int32Array(rows * width);
      local.forEach((s, i) => buf.set(s, i * width));
      return this.group.allGather(T.tensor(buf, { shape: [rows, width] })).map((t) => t.toArray());
    });
    const out: number[][] = [];
    for (let r = 0; r < this.worldSize; r++) {
      const [from, to] = [Math.floor((count * r) / this.worldSize), Math.floor((count * (r + 1)) / this.worldSize)];
      for (let i = 0; i < to - from; i++) out.push(data[r]!.slice(i * width, i * width + lengths[r]![i]!));
    }
    return out;
  }

  /**
   * A logger every rank calls at the same points: numeric fields are reduced across ranks (the
   * mean; sums for counts and throughputs; the max for times), and rank 0 writes the line.
   */
  logger(file: string): JsonlLogger {
    return new ReducingLogger(file, this);
  }

  /** Reduces the numeric leaves of a record (same keys on every rank). */
  reduceRecord(record: Record<string, unknown>): Record<string, unknown> {
    const leaves: { path: string[]; kind: "sum" | "max" | "mean" }[] = [];
    const walk = (o: Record<string, unknown>, path: string[]) => {
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === "number") {
          const inNested = path.length > 0;
          leaves.push({ path: [...path, k], kind: inNested || SUMMED.has(k) ? "sum" : MAXED(k) ? "max" : "mean" });
        } else if (v !== null && typeof v === "object" && !Array.isArray(v)) walk(v as Record<string, unknown>, [...path, k]);
      }
    };
    walk(record, []);
    if (leaves.length === 0) return record;
    const get = (path: string[]) => path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], record) as number;
    const sums = T.tensor(Float64Array.from(leaves, (l) => (l.kind === "max" ? 0 : get(l.path))));
    const maxes = T.tensor(Float64Array.from(leaves, (l) => (l.kind === "max" ? get(l.path) : -Infinity)));
    this.group.allReduce([sums], "sum");
    this.group.allReduce([maxes], "max");
    const s = sums.toFloat64Array(), m = maxes.toFloat64Array();
    sums.dispose();
    maxes.dispose();
    const out = structuredClone(record);
    leaves.forEach((l, i) => {
      const parent = l.path.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, out);
      parent[l.path.at(-1)!] = l.kind === "max" ? m[i]! : l.kind === "sum" ? s[i]! : s[i]! / this.worldSize;
    });
    return out;
  }
}

class ReducingLogger extends JsonlLogger {
  constructor(file: string, private readonly dp: DataParallel) {
    super(file);
  }

  override log(record: Record<string, unknown>): void {
    // Validation records and warnings are already identical on every rank: only steps are reduced.
    const reduced = "validation" in record || "warning" in record ? record : this.dp.reduceRecord(record);
    if (this.dp.isMain) super.log(reduced);
  }
}

/** Parameters in order, cut into buckets of at most BUCKET_BYTES of one dtype and device. */
function buckets(params: T.Tensor[]): T.Tensor[][] {
  const out: T.Tensor[][] = [];
  let current: T.Tensor[] = [], bytes = 0;
  for (const p of params) {
    const size = p.numel * 4;
    const last = current[current.length - 1];
    if (current.length > 0 && (bytes + size > BUCKET_BYTES || last!.dtype !== p.dtype || last!.device !== p.device)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
