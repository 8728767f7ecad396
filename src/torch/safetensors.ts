/**
 * The safetensors format (https://github.com/huggingface/safetensors), implemented here:
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: {"__metadata__": {string: string}?, name: {dtype, shape, data_offsets: [begin, end]}}
 *             padded with spaces so the data starts 8-byte aligned
 *   rest      the tensors' bytes, little-endian, row-major, at their offsets (relative to the data start)
 * The codec works on raw bytes and needs no tensor engine; saveSafetensors/loadSafetensors
 * convert to and from Tensors.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
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

/** Where one tensor's bytes lie in the data section (after the 8-byte length and the header). */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** Byte offsets [begin, end) relative to the start of the data section. */
  begin: number;
  end: number;
}

/** Parses and validates a header (the JSON after the 8-byte length) against a data section of `dataLength` bytes. */
function parseHeader(json: Uint8Array, dataLength: number, file: string): { metadata: Record<string, string>; entries: Map<string, SafetensorsEntry> } {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`safetensors header is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new InputError(`safetensors header is not a JSON object (got ${header === null ? "null" : Array.isArray(header) ? "an array" : typeof header})`, { file });
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries = new Map<string, SafetensorsEntry>();
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
    entries.set(name, { dtype, shape, begin: off[0], end: off[1] });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new InputError(`tensor data overlaps "${spans[i - 1]![2]}"`, { file, field: spans[i]![2] });
  }
  return { metadata, entries };
}

function headerLength(first8: Uint8Array, fileLength: number, file: string): number {
  if (fileLength < 8) throw new InputError("not a safetensors file: shorter than its 8-byte header length", { file });
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > fileLength - 8 || n > 100_000_000) throw new InputError(`not a safetensors file: header length ${n} exceeds the file`, { file });
  return n;
}

/** Parses and validates a safetensors buffer. `file` only labels error messages. */
export function decodeSafetensors(buf: Uint8Array, file = "<buffer>"): SafetensorsContents {
  const n = headerLength(buf, buf.byteLength, file);
  const dataStart = 8 + n;
  const { metadata, entries } = parseHeader(buf.subarray(8, dataStart), buf.byteLength - dataStart, file);
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of entries) tensors.set(name, { dtype: e.dtype, shape: e.shape, bytes: buf.subarray(dataStart + e.begin, dataStart + e.end) });
  return { metadata, tensors };
}

/**
 * Opens a .safetensors file and reads only its header; `read(name)` then reads one tensor's bytes.
 * Checkpoints are read this way so a file larger than Node's 2 GiB readFileSync limit (a 1B model
 * in BF16 is 2.5 GB) loads, and at most one tensor's raw bytes are held at a time. Close it when done.
 */
export function openSafetensors(file: string, opts: { chunkBytes?: number } = {}): {
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
  read(name: string): Uint8Array;
  /** Fills `into` with the tensor's bytes from `byteOffset` on (part of a tensor, into a reused buffer). */
  readInto(name: string, into: Uint8Array, byteOffset?: number): void;
  close(): void;
} {
  const chunk = opts.chunkBytes ?? 1 << 30;
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, { file });
  }
  const readAt = (into: Uint8Array, position: number) => {
    for (let done = 0; done < into.byteLength; ) {
      const got = readSync(fd, into, done, Math.min(chunk, into.byteLength - done), position + done);
      if (got === 0) throw new InputError("file ends inside a tensor", { file });
      done += got;
    }
  };
  try {
    const size = fstatSync(fd).size;
    const first8 = new Uint8Array(Math.min(8, size));
    readAt(first8, 0);
    const n = headerLength(first8, size, file);
    const json = new Uint8Array(n);
    readAt(json, 8);
    const { metadata, entries } = parseHeader(json, size - 8 - n, file);
    return {
      metadata,
      entries,
      read(name: string): Uint8Array {
        const e = entries.get(name);
        if (!e) throw new RangeError(`no tensor ${name} in ${file}`);
        const out = new Uint8Array(e.end - e.begin);
        readAt(out, 8 + n + e.begin);
        return out;
      },
      readInto(name: string, into: Uint8Array, byteOffset = 0): void {
        const e = entries.get(name);
        if (!e) throw new RangeError(`no tensor ${name} in ${file}`);
        if (byteOffset < 0 || e.begin + byteOffset + into.byteLength > e.end) throw new RangeError(`bytes [${byteOffset}, ${byteOffset + into.byteLength}) lie outside tensor ${name}`);
        readAt(into, 8 + n + e.begin + byteOffset);
      },
      close: () => closeSync(fd),
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
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
