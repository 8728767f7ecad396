/**
 * The Tensor type: a typed, disposable wrapper over one libtorch tensor handle. Every method
 * returns a new Tensor (methods ending in `_` update in place and return `this`). Tensors created
 * inside `tidy()` are freed when it returns; see scope.ts.
 */
import { native, type Handle } from "./native.js";
import { track } from "./scope.js";
import { viewAs, type AnyTypedArray, type DType } from "./dtype.js";

export type Operand = Tensor | number;

function h(o: Operand): Handle | number {
  return typeof o === "number" ? o : o.handle;
}

/** Normalises a possibly negative dimension. */
function dimOf(d: number, ndim: number): number {
  return d < 0 ? d + ndim : d;
}

export class Tensor {
  #handle: Handle | null;
  #shape: number[] | null = null;

  /** Wraps a native handle; the new tensor belongs to the innermost open scope. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === null) throw new Error("tensor used after dispose()");
    return this.#handle;
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /** Frees the native tensor now (views of it stay valid: libtorch counts references). */
  dispose(): void {
    if (this.#handle !== null) native.free(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------------ metadata

  get shape(): number[] {
    // In-place ops never change a shape, so it is safe to cache.
    if (this.#shape === null) this.#shape = native.shape(this.handle);
    return this.#shape.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const s = this.shape;
    const v = s[dimOf(dim, s.length)];
    if (v === undefined) throw new RangeError(`size(${dim}): tensor has ${s.length} dimensions`);
    return v;
  }
  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }
  get device(): string {
    return native.device(this.handle);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ------------------------------------------------------------------ data export

  /** The elements, row-major, in the typed array of the tensor's dtype (a copy). */
  data(): AnyTypedArray {
    return viewAs(this.dtype, native.toBuffer(this.handle));
  }
  /** The elements converted to float32. */
  toFloat32Array(): Float32Array {
    return this.#converted("float32") as Float32Array;
  }
  /** The elements converted to float64. */
  toFloat64Array(): Float64Array {
    return this.#converted("float64") as Float64Array;
  }
  /** The elements as plain numbers (int64 values beyond 2^53 lose precision). */
  toArray(): number[] {
    const d = this.dtype;
    if (d === "int64") return Array.from(this.data() as BigInt64Array, Number);
    if (d === "float16" || d === "bfloat16") return Array.from(this.toFloat32Array());
    return Array.from(this.data() as Exclude<AnyTypedArray, BigInt64Array>);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return native.item(this.handle);
  }
  #converted(dtype: DType): AnyTypedArray {
    if (this.dtype === dtype) return this.data();
    const tmp = native.to(this.handle, dtype, null);
    try {
      return viewAs(dtype, native.toBuffer(tmp));
    } finally {
      native.free(tmp);
    }
  }

  // ------------------------------------------------------------------ elementwise

  add(o: Operand): Tensor { return new Tensor(native.add(this.handle, h(o))); }
  sub(o: Operand): Tensor { return new Tensor(native.sub(this.handle, h(o))); }
  mul(o: Operand): Tensor { return new Tensor(native.mul(this.handle, h(o))); }
  div(o: Operand): Tensor { return new Tensor(native.div(this.handle, h(o))); }
  pow(o: Operand): Tensor { return new Tensor(native.pow(this.handle, h(o))); }
  maximum(o: Operand): Tensor { return new Tensor(native.maximum(this.handle, h(o))); }
  minimum(o: Operand): Tensor { return new Tensor(native.minimum(this.handle, h(o))); }
  remainder(o: Operand): Tensor { return new Tensor(native.remainder(this.handle, h(o))); }
  eq(o: Operand): Tensor { return new Tensor(native.eq(this.handle, h(o))); }
  ne(o: Operand): Tensor { return new Tensor(native.ne(this.handle, h(o))); }
  lt(o: Operand): Tensor { return new Tensor(native.lt(this.handle, h(o))); }
  le(o: Operand): Tensor { return new Tensor(native.le(this.handle, h(o))); }
  gt(o: Operand): Tensor { return new Tensor(native.gt(this.handle, h(o))); }
  ge(o: Operand): Tensor { return new Tensor(native.ge(this.handle, h(o))); }
  logicalAnd(o: Tensor): Tensor { return new Tensor(native.logicalAnd(this.handle, o.handle)); }
  logicalOr(o: Tensor): Tensor { return new Tensor(native.logicalOr(this.handle, o.handle)); }
  logicalNot(): Tensor { return new Tensor(native.logicalNot(this.handle)); }

  neg(): Tensor { return new Tensor(native.neg(this.handle)); }
  exp(): Tensor { return new Tensor(native.exp(this.handle)); }
  log(): Tensor { return new Tensor(native.log(this.handle)); }
  log1p(): Tensor { return new Tensor(native.log1p(this.handle)); }
  expm1(): Tensor { return new Tensor(native.expm1(this.handle)); }
  sqrt(): Tensor { return new Tensor(native.sqrt(this.handle)); }
  rsqrt(): Tensor { return new Tensor(native.rsqrt(this.handle)); }
  tanh(): Tensor { return new Tensor(native.tanh(this.handle)); }
  sigmoid(): Tensor { return new Tensor(native.sigmoid(this.handle)); }
  abs(): Tensor { return new Tensor(native.abs(this.handle)); }
  relu(): Tensor { return new Tensor(native.relu(this.handle)); }
  silu(): Tensor { return new Tensor(native.silu(this.handle)); }
  gelu(approximate: "none" | "tanh" = "none"): Tensor { return new Tensor(native.gelu(this.handle, approximate)); }
  sin(): Tensor { return new Tensor(native.sin(this.handle)); }
  cos(): Tensor { return new Tensor(native.cos(this.handle)); }
  reciprocal(): Tensor { return new Tensor(native.reciprocal(this.handle)); }
  sign(): Tensor { return new Tensor(native.sign(this.handle)); }
  floor(): Tensor { return new Tensor(native.floor(this.handle)); }
  ceil(): Tensor { return new Tensor(native.ceil(this.handle)); }
  round(): Tensor { return new Tensor(native.round(this.handle)); }
  square(): Tensor { return new Tensor(native.square(this.handle)); }
  isFinite(): Tensor { return new Tensor(native.isFinite(this.handle)); }
  isNan(): Tensor { return new Tensor(native.isNan(this.handle)); }
  clamp(min: number | null, max: number | null = null): Tensor { return new Tensor(native.clamp(this.handle, min, max)); }
  maskedFill(mask: Tensor, value: number | boolean): Tensor { return new Tensor(native.maskedFill(this.handle, mask.handle, value)); }

  // ------------------------------------------------------------------ in place

  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); return this; }
  fill_(value: number | boolean): this { native.fill_(this.handle, value); return this; }
  zero_(): this { native.zero_(this.handle); return this; }
  add_(o: Operand, alpha = 1): this { native.add_(this.handle, h(o), alpha); return this; }
  mul_(o: Operand): this { native.mul_(this.handle, h(o)); return this; }
  maskedFill_(mask: Tensor, value: number | boolean): this { native.maskedFill_(this.handle, mask.handle, value); return this; }
  indexCopy_(dim: number, index: Tensor, src: Tensor): this { native.indexCopy_(this.handle, dim, index.handle, src.handle); return this; }

  // ------------------------------------------------------------------ reductions

  sum(dims?: number | number[], keepdim = false): Tensor { return new Tensor(native.sum(this.handle, dimsOf(dims), keepdim)); }
  mean(dims?: number | number[], keepdim = false): Tensor { return new Tensor(native.mean(this.handle, dimsOf(dims), keepdim)); }
  /** Variance; unbiased (n − 1) by default, like torch.var. */
  var(dims?: number | number[], keepdim = false, unbiased = true): Tensor { return new Tensor(native.var(this.handle, dimsOf(dims), keepdim, unbiased)); }
  logsumexp(dims: number | number[], keepdim = false): Tensor { return new Tensor(native.logsumexp(this.handle, dimsOf(dims)!, keepdim)); }
  /** The maximum over all elements. */
  max(): Tensor { return new Tensor(native.max(this.handle) as Handle); }
  min(): Tensor { return new Tensor(native.min(this.handle) as Handle); }
  /** Maximum values and their indices along a dimension. */
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] { return pair(native.max(this.handle, dim, keepdim) as [Handle, Handle]); }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] { return pair(native.min(this.handle, dim, keepdim) as [Handle, Handle]); }
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmax(this.handle, dim, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmin(this.handle, dim, keepdim)); }
  any(): Tensor { return new Tensor(native.any(this.handle)); }
  all(): Tensor { return new Tensor(native.all(this.handle)); }
  cumsum(dim: number): Tensor { return new Tensor(native.cumsum(this.handle, dim)); }
  norm(p = 2): Tensor { return new Tensor(native.norm(this.handle, p)); }

  // ------------------------------------------------------------------ shape and indexing

  reshape(...shape: number[]): Tensor { return new Tensor(native.reshape(this.handle, shape)); }
  view(...shape: number[]): Tensor { return new Tensor(native.view(this.handle, shape)); }
  transpose(d0: number, d1: number): Tensor { return new Tensor(native.transpose(this.handle, d0, d1)); }
  /** Swaps the last two dimensions. */
  get T(): Tensor { return this.transpose(-2, -1); }
  permute(...dims: number[]): Tensor { return new Tensor(native.permute(this.handle, dims)); }
  narrow(dim: number, start: number, length: number): Tensor { return new Tensor(native.narrow(this.handle, dim, start, length)); }
  /** Elements [start, end) with a step along dim (end may exceed the size; negatives count from the end). */
  slice(dim: number, start: number, end: number, step = 1): Tensor { return new Tensor(native.slice(this.handle, dim, start, end, step)); }
  select(dim: number, index: number): Tensor { return new Tensor(native.select(this.handle, dim, index)); }
  squeeze(dim?: number): Tensor { return new Tensor(native.squeeze(this.handle, dim)); }
  unsqueeze(dim: number): Tensor { return new Tensor(native.unsqueeze(this.handle, dim)); }
  flatten(start = 0, end = -1): Tensor { return new Tensor(native.flatten(this.handle, start, end)); }
  expand(...shape: number[]): Tensor { return new Tensor(native.expand(this.handle, shape)); }
  repeat(...reps: number[]): Tensor { return new Tensor(native.repeat(this.handle, reps)); }
  flip(...dims: number[]): Tensor { return new Tensor(native.flip(this.handle, dims)); }
  contiguous(): Tensor { return new Tensor(native.contiguous(this.handle)); }
  clone(): Tensor { return new Tensor(native.clone(this.handle)); }
  chunk(n: number, dim = 0): Tensor[] { return native.chunk(this.handle, n, dim).map((x) => new Tensor(x)); }
  split(sizes: number[], dim = 0): Tensor[] { return native.split(this.handle, sizes, dim).map((x) => new Tensor(x)); }
  indexSelect(dim: number, index: Tensor): Tensor { return new Tensor(native.indexSelect(this.handle, dim, index.handle)); }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(native.gather(this.handle, dim, index.handle)); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return new Tensor(native.scatterAdd(this.handle, dim, index.handle, src.handle)); }
  scatter(dim: number, index: Tensor, src: Operand): Tensor { return new Tensor(native.scatter(this.handle, dim, index.handle, h(src))); }
  triu(k = 0): Tensor { return new Tensor(native.triu(this.handle, k)); }
  tril(k = 0): Tensor { return new Tensor(native.tril(this.handle, k)); }
  to(dtype: DType): Tensor { return new Tensor(native.to(this.handle, dtype, null)); }
  toDevice(device: string): Tensor { return new Tensor(native.to(this.handle, null, device)); }
  float(): Tensor { return this.to("float32"); }
  double(): Tensor { return this.to("float64"); }
  long(): Tensor { return this.to("int64"); }

  // ------------------------------------------------------------------ linear algebra and nn

  matmul(o: Tensor): Tensor { return new Tensor(native.matmul(this.handle, o.handle)); }
  bmm(o: Tensor): Tensor { return new Tensor(native.bmm(this.handle, o.handle)); }
  softmax(dim: number): Tensor { return new Tensor(native.softmax(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return new Tensor(native.logSoftmax(this.handle, dim)); }
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] { return pair(native.topk(this.handle, k, dim, largest, sorted)); }
  sort(dim = -1, descending = false, stable = false): [Tensor, Tensor] { return pair(native.sort(this.handle, dim, descending, stable)); }
  argsort(dim = -1, descending = false): Tensor {
    const [values, indices] = this.sort(dim, descending, true);
    values.dispose();
    return indices;
  }
  /** Draws n indices per row from (unnormalised) probabilities. */
  multinomial(n: number, replacement = false): Tensor { return new Tensor(native.multinomial(this.handle, n, replacement)); }

  // ------------------------------------------------------------------ autograd

  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  /** Marks a leaf tensor as a parameter whose gradient is accumulated by backward(). */
  requiresGrad_(on = true): this { native.setRequiresGrad(this.handle, on); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The accumulated gradient (a new handle on it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) { native.setGrad(this.handle, g === null ? null : g.handle); }
  /** Drops the gradient (like `p.grad = None`). */
  zeroGrad(): void { native.setGrad(this.handle, null); }
  backward(gradient?: Tensor, retainGraph = false): void { native.backward(this.handle, gradient?.handle, retainGraph); }
  detach(): Tensor { return new Tensor(native.detach(this.handle)); }
}

function dimsOf(d: number | number[] | undefined): number[] | null {
  if (d === undefined) return null;
  return typeof d === "number" ? [d] : d;
}

function pair(hs: [Handle, Handle]): [Tensor, Tensor] {
  return [new Tensor(hs[0]), new Tensor(hs[1])];
}
