/**
 * The safetensors format (https://github.com/huggingface/safetensors), implemented here:
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: {"__metadata__": {string: string}?, name: {dtype, shape, data_offsets: [begin, end]}}
 *             padded with spaces so the data starts 8-byte aligned
 *   rest      the tensors' bytes, little-endian, row-major, at their offsets (relative to the data start)
 * The codec works on raw bytes and needs no tensor engine; saveSafetensors/loadSafetensors
 * convert to and from Tensors.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { DTYPE_BYTES, type DType } from "./dtype.js";
import { fromBytes } from "./creation.js";
import type { Tensor } from "./tensor.js";

const TO_CODE: Record<DType, string> = {
  float64: "F64", float32: "F32", float16: "F16", bfloat16: "BF16",
  int64: "I64", int32: "I32", int16: "I16", int8: "I8", uint8: "U8", bool: "BOOL",
};
const FROM_CODE: Record<string, DType> = Object.fromEntries(Object.entries(TO_CODE).map(([k, v]) => [v, k as DType]));

export interface RawTensor {
  dtype: DType;
  shape: number[];
  /** The tensor's bytes (a view into the file's buffer when decoded). */
  bytes: Uint8Array;
}

export interface SafetensorsContents {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
}

/** Serialises tensors in name order. */
export function encodeSafetensors(tensors: ReadonlyMap<string, RawTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.bytes.byteLength !== expected) throw new RangeError(`safetensors: "${name}" has ${t.bytes.byteLength} bytes, shape [${t.shape}] of ${t.dtype} needs ${expected}`);
    header[name] = { dtype: TO_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const b = tensors.get(name)!.bytes;
    out.set(b, pos);
    pos += b.byteLength;
  }
  return out;
}

/** Parses and validates a safetensors buffer. `file` only labels error messages. */
export function decodeSafetensors(buf: Uint8Array, file = "<buffer>"): SafetensorsContents {
  if (buf.byteLength < 8) throw new InputError("not a safetensors file: shorter than its 8-byte header length", { file });
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (n > buf.byteLength - 8 || n > 100_000_000) throw new InputError(`not a safetensors file: header length ${n} exceeds the file`, { file });
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`safetensors header is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new InputError(`safetensors header is not a JSON object (got ${header === null ? "null" : Array.isArray(header) ? "an array" : typeof header})`, { file });
  const dataStart = 8 + n;
  const dataLength = buf.byteLength - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, RawTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === "string" ? FROM_CODE[e.dtype] : undefined;
    if (!dtype) throw new InputError(`unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(FROM_CODE).join(", ")})`, { file, field: name });
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new InputError("shape must be an array of non-negative integers", { file, field: name });
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1] || off[1] > dataLength) {
      throw new InputError(`data_offsets ${JSON.stringify(off)} lie outside the ${dataLength}-byte data section`, { file, field: name });
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== expected) throw new InputError(`data_offsets span ${off[1] - off[0]} bytes, shape [${shape}] of ${dtype} needs ${expected}`, { file, field: name });
    spans.push([off[0], off[1], name]);
    tensors.set(name, { dtype, shape, bytes: buf.subarray(dataStart + off[0], dataStart + off[1]) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new InputError(`tensor data overlaps "${spans[i - 1]![2]}"`, { file, field: spans[i]![2] });
  }
  return { metadata, tensors };
}

/** Writes named tensors to a .safetensors file, atomically. */
export function saveSafetensors(file: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): void {
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    const data = t.data();
    raw.set(name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  writeFileAtomic(file, encodeSafetensors(raw, metadata));
}

/** Reads a .safetensors file into tensors (on the CPU unless a device is given). */
export function loadSafetensors(file: string, device?: string): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, { file });
  }
  const { metadata, tensors } = decodeSafetensors(buf, file);
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) out.set(name, fromBytes(t.bytes, t.shape, t.dtype, device));
  return { metadata, tensors: out };
}
