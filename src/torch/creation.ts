/** Creating tensors from JavaScript data, and the factory functions (zeros, randn, arange, …). */
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { DTYPE_BYTES, dtypeOfArray, type AnyTypedArray, type DType } from "./dtype.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Infers the shape of a nested array and checks that it is rectangular. */
function shapeOf(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
    if (cur === undefined) break;
  }
  return shape;
}

function flattenInto(data: Nested, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError("tensor(): ragged nested array");
    out.push(typeof data === "boolean" ? Number(data) : data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new TypeError(`tensor(): ragged nested array at depth ${depth}`);
  for (const x of data) flattenInto(x, shape, depth + 1, out);
}

function encode(values: ArrayLike<number>, dtype: DType): AnyTypedArray {
  switch (dtype) {
    case "float32": return Float32Array.from(values);
    case "float64": return Float64Array.from(values);
    case "int64": return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case "int32": return Int32Array.from(values);
    case "int16": return Int16Array.from(values);
    case "int8": return Int8Array.from(values);
    case "uint8": return Uint8Array.from(values);
    case "bool": return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "float16":
    case "bfloat16": {
      // Build in float32 and let libtorch round: exact and simpler than converting here.
      return Float32Array.from(values);
    }
  }
}

/**
 * Creates a tensor from a number, a nested array or a typed array (copied).
 * Default dtype: float32 for numbers, the array's own dtype for typed arrays.
 */
export function tensor(data: Nested | AnyTypedArray, opts: TensorOptions & { shape?: number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const natural = data instanceof Uint16Array ? opts.dtype : dtypeOfArray(data);
    if (natural === undefined) throw new TypeError("tensor(): a Uint16Array holds float16/bfloat16 bits; pass dtype");
    const shape = opts.shape ?? [data.length];
    const t = new Tensor(native.fromBuffer(data, shape, natural, opts.device));
    if (opts.dtype !== undefined && opts.dtype !== natural) {
      const c = t.to(opts.dtype);
      t.dispose();
      return finish(c, opts);
    }
    return finish(t, opts);
  }
  const inferred = shapeOf(data);
  const values: number[] = [];
  flattenInto(data, inferred, 0, values);
  const shape = opts.shape ?? inferred;
  const dtype = opts.dtype ?? (typeof values[0] === "boolean" ? "bool" : "float32");
  const buf = encode(values, dtype);
  if (dtype === "float16" || dtype === "bfloat16") {
    const t = new Tensor(native.fromBuffer(buf, shape, "float32", opts.device));
    const c = t.to(dtype);
    t.dispose();
    return finish(c, opts);
  }
  return finish(new Tensor(native.fromBuffer(buf, shape, dtype, opts.device)), opts);
}

/** Wraps raw little-endian bytes of a given dtype and shape (copied). */
export function fromBytes(bytes: Uint8Array, shape: number[], dtype: DType, device?: string): Tensor {
  const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (bytes.byteLength !== expected) throw new RangeError(`fromBytes: ${bytes.byteLength} bytes for shape [${shape}] of ${dtype} (expected ${expected})`);
  return new Tensor(native.fromBuffer(bytes, shape, dtype, device));
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.zeros(shape, opts.dtype, opts.device)), opts);
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.ones(shape, opts.dtype, opts.device)), opts);
}
export function empty(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.empty(shape, opts.dtype, opts.device)), opts);
}
export function full(shape: number[], value: number | boolean, opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.full(shape, value, opts.dtype, opts.device)), opts);
}
/** Standard normal samples from the engine's seeded generator. */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.randn(shape, opts.dtype, opts.device)), opts);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  return finish(new Tensor(native.rand(shape, opts.dtype, opts.device)), opts);
}
/** Uniform integers in [low, high). */
export function randint(low: number, high: number, shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(native.randint(low, high, shape, opts.dtype ?? "int64", opts.device));
}
export function randperm(n: number, device?: string): Tensor {
  return new Tensor(native.randperm(n, device));
}
/** [start, end) in steps; int64 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  return new Tensor(native.arange(start, end, step, opts.dtype ?? "int64", opts.device));
}
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(native.eye(n, opts.dtype, opts.device));
}
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device });
}
