/**
 * Tensor lifetimes. Tensors live in native memory that V8's garbage collector cannot see, so a
 * training loop that relies on finalizers grows without bound. Every tensor created inside
 * `tidy(fn)` is freed when fn returns, except the tensors fn returns (found in arrays, plain
 * objects and Maps) and those passed to `keep()`. Scopes nest; surviving tensors move to the
 * enclosing scope.
 */

/** What a scope needs to know about a tensor. */
export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Called by every tensor at creation. */
export function track(t: Disposable): void {
  const top = stack[stack.length - 1];
  if (top) top.add(t);
}

/** Removes a tensor from every open scope: it lives until disposed explicitly. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

/** Runs fn; frees every tensor it created except those it returns. Synchronous functions only. */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error("tidy(): fn returned a Promise; use tidyAsync for async work");
  }
  release(scope, result);
  return result;
}

/**
 * The async form of tidy. Tensors created by *other* code running concurrently while fn awaits
 * would land in this scope too, so use it only around sequential work.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    remove(scope);
    for (const t of scope) t.dispose();
    throw e;
  }
  remove(scope);
  release(scope, result);
  return result;
}

/** Frees a closed scope's tensors except those in `result`, which move to the enclosing scope. */
function release(scope: Set<Disposable>, result: unknown): void {
  const survivors = new Set<Disposable>();
  collect(result, survivors, 0);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
}

function remove(scope: Set<Disposable>): void {
  const i = stack.lastIndexOf(scope);
  if (i >= 0) stack.splice(i, 1);
}

function isDisposable(v: unknown): v is Disposable {
  return typeof v === "object" && v !== null && typeof (v as Disposable).dispose === "function" && "disposed" in v;
}

function collect(v: unknown, out: Set<Disposable>, depth: number): void {
  if (depth > 8 || v === null || typeof v !== "object") return;
  if (isDisposable(v)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/** Number of open scopes (for tests and diagnostics). */
export function scopeDepth(): number {
  return stack.length;
}
