/**
 * Process groups over libtorch's c10d (native/distributed.cc): a TCPStore rendezvous hosted by
 * rank 0 and the Gloo backend for CPU tensors (NCCL for CUDA tensors when the addon was built
 * with them). The collectives are torch.distributed's: allReduce, broadcast, allGather, barrier.
 *
 * The plain methods block the JavaScript thread until the collective completes or the group's
 * timeout passes (what a synchronous training loop wants); the `…Async` ones return a Promise
 * settled from a worker thread. Do not touch the tensors of a pending async collective.
 *
 * A collective that fails (a peer died: its connection closed; a peer hangs: the timeout) throws
 * a CollectiveError naming the ranks that did not reach it: every collective first bumps this
 * rank's counter in the store, so after a failure the counters tell who is behind.
 */
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { empty } from "./creation.js";
import type { Handle } from "./native.js";

export type Backend = "gloo" | "nccl";
export type ReduceOp = "sum" | "avg" | "max" | "min";

export interface InitOptions {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  /** Rendezvous and collective timeout in milliseconds (default 300 000, torch.distributed's 30 min is long for a test). */
  timeoutMs?: number;
  backend?: Backend;
}

interface NativeDistributed {
  init(o: Required<InitOptions>): number;
  destroy(id: number): void;
  allReduce(id: number, ts: Handle[], op: ReduceOp, async: boolean): Promise<void> | undefined;
  broadcast(id: number, ts: Handle[], root: number, async: boolean): Promise<void> | undefined;
  allGather(id: number, out: Handle[], input: Handle, async: boolean): Promise<void> | undefined;
  barrier(id: number, async: boolean): Promise<void> | undefined;
  storeAdd(id: number, key: string, delta: number): number;
  storeSet(id: number, key: string, value: string): void;
  storeGet(id: number, key: string): string;
  backends(): string[];
  reducerCreate(id: number, params: Handle[], capBytes: number, firstCapBytes: number): number;
  reducerArm(id: number, weight: number): void;
  reducerFinish(id: number, loss: number, weight: number): [number, number, number, number, number];
  reducerDestroy(id: number): void;
}

const dist = (native as unknown as { distributed: NativeDistributed }).distributed;

/** The backends this addon was compiled with ("gloo"; "nccl" with CUDA and NCCL). */
export function availableBackends(): Backend[] {
  return dist.backends() as Backend[];
}

/** A collective that did not complete; `lagging` are the ranks that never reached it. */
export class CollectiveError extends Error {
  constructor(message: string, readonly lagging: number[]) {
    super(message);
    this.name = "CollectiveError";
  }
}

export class ProcessGroup {
  private id: number | null;
  private seq = 0;

  private constructor(id: number, readonly rank: number, readonly worldSize: number, readonly backend: Backend, readonly opts: Required<InitOptions>) {
    this.id = id;
  }

  /** Joins the group: blocks until all worldSize ranks have connected, or throws after the timeout. */
  static init(opts: InitOptions): ProcessGroup {
    const full: Required<InitOptions> = { timeoutMs: 300_000, backend: "gloo", ...opts };
    const id = dist.init(full);
    return new ProcessGroup(id, full.rank, full.worldSize, full.backend, full);
  }

  private get handle(): number {
    if (this.id === null) throw new Error("process group used after destroy()");
    return this.id;
  }

  /** Sum (or average, max, min) of each tensor over the ranks, in place on every rank. */
  allReduce(tensors: Tensor[], op: ReduceOp = "sum"): void {
    this.run("allReduce", () => dist.allReduce(this.handle, tensors.map((t) => t.handle), op, false));
  }

  allReduceAsync(tensors: Tensor[], op: ReduceOp = "sum"): Promise<void> {
    return this.runAsync("allReduce", () => dist.allReduce(this.handle, tensors.map((t) => t.handle), op, true)!);
  }

  /** Copies root's tensors into every rank's, in place. */
  broadcast(tensors: Tensor[], root = 0): void {
    this.run("broadcast", () => dist.broadcast(this.handle, tensors.map((t) => t.handle), root, false));
  }

  broadcastAsync(tensors: Tensor[], root = 0): Promise<void> {
    return this.runAsync("broadcast", () => dist.broadcast(this.handle, tensors.map((t) => t.handle), root, true)!);
  }

  /** Every rank's `input` (same shape and dtype on all ranks), in rank order. */
  allGather(input: Tensor): Tensor[] {
    const out = this.gatherOutputs(input);
    this.run("allGather", () => dist.allGather(this.handle, out.map((t) => t.handle), input.handle, false));
    return out;
  }

  async allGatherAsync(input: Tensor): Promise<Tensor[]> {
    const out = this.gatherOutputs(input);
    await this.runAsync("allGather", () => dist.allGather(this.handle, out.map((t) => t.handle), input.handle, true)!);
    return out;
  }

  barrier(): void {
    this.run("barrier", () => dist.barrier(this.handle, false));
  }

  barrierAsync(): Promise<void> {
    return this.runAsync("barrier", () => dist.barrier(this.handle, true)!);
  }

  /**
   * A gradient reducer over `params` (leaves that require grad): buckets of at most
   * `capBytes` (the first of `firstCapBytes`) in reverse parameter order, whose all-reduces start
   * during the backward pass once armed (GradientReducer).
   */
  gradientReducer(params: Tensor[], capBytes: number, firstCapBytes: number): GradientReducer {
    return new GradientReducer(this, dist.reducerCreate(this.handle, params.map((p) => p.handle), capBytes, firstCapBytes));
  }

  /** Runs a native collective step under the counters that name lagging ranks on failure. */
  collective<R>(what: string, f: (id: number) => R): R {
    const seq = this.enter(what);
    try {
      return f(this.handle);
    } catch (e) {
      throw this.diagnose(what, seq, e);
    }
  }

  /** Leaves the group; its connections close. */
  destroy(): void {
    if (this.id !== null) dist.destroy(this.id);
    this.id = null;
  }

  private gatherOutputs(input: Tensor): Tensor[] {
    return Array.from({ length: this.worldSize }, () => empty(input.shape, { dtype: input.dtype, device: input.device }));
  }

  private enter(what: string): number {
    this.seq += 1;
    try {
      dist.storeAdd(this.handle, `seq/${this.rank}`, 1);
    } catch (e) {
      throw this.storeGone(what, e);
    }
    return this.seq;
  }

  private run(what: string, f: () => unknown): void {
    const seq = this.enter(what);
    try {
      f();
    } catch (e) {
      throw this.diagnose(what, seq, e);
    }
  }

  private async runAsync(what: string, f: () => Promise<void>): Promise<void> {
    const seq = this.enter(what);
    try {
      await f();
    } catch (e) {
      throw this.diagnose(what, seq, e);
    }
  }

  private storeGone(what: string, cause: unknown): CollectiveError {
    const msg = cause instanceof Error ? cause.message : String(cause);
    return new CollectiveError(
      `distributed ${what} failed on rank ${this.rank}/${this.worldSize}: rank 0, which hosts the store at ${this.opts.masterAddr}:${this.opts.masterPort}, is unreachable (it died or its machine is gone) [${firstLine(msg)}]`,
      [0],
    );
  }

  /** Names the ranks whose counters are behind this collective's number. */
  private diagnose(what: string, seq: number, cause: unknown): CollectiveError {
    const msg = cause instanceof Error ? cause.message : String(cause);
    const lagging: number[] = [];
    try {
      for (let r = 0; r < this.worldSize; r++) if (r !== this.rank && dist.storeAdd(this.handle, `seq/${r}`, 0) < seq) lagging.push(r);
    } catch (e) {
      return this.storeGone(what, e);
    }
    const who = lagging.length > 0
      ? `rank${lagging.length > 1 ? "s" : ""} ${lagging.join(", ")} never reached it (died or hangs)`
      : "every rank reached it; a peer failed during it (died, or its connection broke)";
    return new CollectiveError(`distributed ${what} #${seq} failed on rank ${this.rank}/${this.worldSize}: ${who} [${firstLine(msg)}]`, lagging);
  }
}

/** What one gradient reduction did: the whole batch's loss and weight, and how many of its buckets left during the backward. */
export interface ReduceResult {
  loss: number;
  weight: number;
  bucketsInBackward: number;
  buckets: number;
  /** Buckets reduced a second time because a gradient changed after they left (see native/distributed.cc). */
  staleBuckets: number;
}

/**
 * Sums `weight × gradient` over the ranks, divides by the summed weight, and writes it back to
 * each parameter's `.grad` (native/distributed.cc). `arm(weight)` before `backward()` makes the
 * backward itself start each bucket's all-reduce as soon as its gradients are complete (hooks on
 * the parameters' gradient accumulators, run inside the autograd engine); `finish` then starts
 * the rest and waits. Without `arm`, `finish` does the whole reduction after the backward. A
 * parameter gets a gradient when any rank produced one; non-finite values propagate.
 */
export class GradientReducer {
  private id: number | null;

  constructor(readonly group: ProcessGroup, id: number) {
    this.id = id;
  }

  private get handle(): number {
    if (this.id === null) throw new Error("gradient reducer used after dispose()");
    return this.id;
  }

  /** Call right before the backward pass whose gradients `finish` will reduce. */
  arm(weight: number): void {
    dist.reducerArm(this.handle, weight);
  }

  /** Completes the reduction (blocks); `weight` is used when `arm` was not called. */
  finish(loss: number, weight: number): ReduceResult {
    const [l, w, inBackward, buckets, stale] = this.group.collective("allReduce (gradients)", () => dist.reducerFinish(this.handle, loss, weight));
    return { loss: l, weight: w, bucketsInBackward: inBackward, buckets, staleBuckets: stale };
  }

  /** Removes the hooks. */
  dispose(): void {
    if (this.id !== null) dist.reducerDestroy(this.id);
    this.id = null;
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
