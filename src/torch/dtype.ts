/** Element types the engine supports (the names match safetensors' and PyTorch's). */
export type DType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

export const DTYPES: readonly DType[] = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"];

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The typed array that holds each dtype's raw elements (half types as their 16-bit patterns). */
export type TypedArrayFor<D extends DType> = D extends "float32" ? Float32Array
  : D extends "float64" ? Float64Array
  : D extends "int64" ? BigInt64Array
  : D extends "int32" ? Int32Array
  : D extends "int16" ? Int16Array
  : D extends "int8" ? Int8Array
  : D extends "float16" | "bfloat16" ? Uint16Array
  : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array;

/** Views raw bytes as the typed array of a dtype (no copy). */
export function viewAs(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int64": return new BigInt64Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "int16": return new Int16Array(buffer);
    case "int8": return new Int8Array(buffer);
    case "float16":
    case "bfloat16": return new Uint16Array(buffer);
    case "uint8":
    case "bool": return new Uint8Array(buffer);
  }
}

/** The dtype a typed array naturally holds (Uint16Array is ambiguous and must be named). */
export function dtypeOfArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array) return "uint8";
  throw new TypeError("a Uint16Array holds float16 or bfloat16 bits: pass the dtype explicitly");
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}
