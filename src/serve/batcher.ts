/**
 * Dynamic batching: requests that arrive close together are answered by one call of a batch
 * function (one constrained generation pass instead of one per request). A batch runs when it
 * holds `maxBatch` items, or when its oldest item has waited `maxWaitMs`. The batch function is
 * synchronous (it runs the model on this thread), so requests arriving while it runs queue up
 * and form the next batch. When a batch throws, its items are retried one by one, so one request
 * that breaks the model cannot fail the others it was grouped with.
 */

export interface BatcherOptions {
  /** Most items per batch call. */
  maxBatch: number;
  /** Longest an item waits for others before its batch runs. */
  maxWaitMs: number;
  /** Most items waiting; beyond it `submit` rejects with QueueFullError (the server answers 503). */
  maxQueue: number;
}

export interface BatchObserver {
  /** After each batch call: its size and duration. */
  batch?(size: number, seconds: number): void;
  /** Whenever the number of waiting items changes. */
  queue?(length: number): void;
}

export class QueueFullError extends Error {
  readonly statusCode = 503;
  constructor(limit: number) {
    super(`the server is busy: ${limit} requests are already waiting; retry later`);
    this.name = "QueueFullError";
  }
}

interface Pending<I, O> {
  item: I;
  since: number;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class Batcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly run: (items: I[]) => O[],
    private readonly opts: BatcherOptions,
    private readonly observer: BatchObserver = {},
  ) {
    for (const k of ["maxBatch", "maxQueue"] as const) if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new RangeError(`${k} must be a positive integer, got ${opts[k]}`);
    if (!(opts.maxWaitMs >= 0) || !Number.isFinite(opts.maxWaitMs)) throw new RangeError(`maxWaitMs must be a non-negative number, got ${opts.maxWaitMs}`);
  }

  /** Items waiting for a batch. */
  get length(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<O> {
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.opts.maxQueue));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, since: performance.now(), resolve, reject });
      this.observer.queue?.(this.queue.length);
      this.schedule();
    });
  }

  /** Runs the next batch now when it is full or its oldest item has waited long enough, else sets a timer. */
  private schedule(): void {
    if (this.queue.length === 0 || this.immediate !== null) return;
    const waited = performance.now() - this.queue[0]!.since;
    if (this.queue.length >= this.opts.maxBatch || waited >= this.opts.maxWaitMs) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      // Not inline: the caller (a request handler) returns first, and pending I/O is read.
      this.immediate = setImmediate(() => this.flush());
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.opts.maxWaitMs - waited);
    }
  }

  private flush(): void {
    this.immediate = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.observer.queue?.(this.queue.length);
    if (batch.length > 0) {
      const t0 = performance.now();
      this.answer(batch);
      this.observer.batch?.(batch.length, (performance.now() - t0) / 1000);
    }
    this.schedule();
  }

  private answer(batch: Pending<I, O>[]): void {
    let outs: O[];
    try {
      outs = this.run(batch.map((p) => p.item));
      if (outs.length !== batch.length) throw new Error(`the batch function returned ${outs.length} answers for ${batch.length} items`);
    } catch (e) {
      if (batch.length === 1) batch[0]!.reject(e);
      else for (const p of batch) this.answer([p]);
      return;
    }
    batch.forEach((p, i) => p.resolve(outs[i]!));
  }
}
