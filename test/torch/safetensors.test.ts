import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import * as T from "../../src/torch/index.js";

// An independent reader in another language: Python's struct and json modules only.
const PYTHON_READER = `
import json, struct, sys
buf = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", buf[:8])[0]
header = json.loads(buf[8:8 + n])
meta = header.pop("__metadata__", {})
fmt = {"F32": "f", "F64": "d", "I64": "q", "I32": "i", "I16": "h", "I8": "b", "U8": "B", "BOOL": "?", "F16": "e", "BF16": "H"}
out = {"metadata": meta, "aligned": (8 + n) % 8 == 0, "tensors": {}}
for name, e in header.items():
    s, t = e["data_offsets"]
    raw = buf[8 + n + s: 8 + n + t]
    count = len(raw) // struct.calcsize(fmt[e["dtype"]])
    vals = list(struct.unpack("<%d%s" % (count, fmt[e["dtype"]]), raw))
    out["tensors"][name] = {"dtype": e["dtype"], "shape": e["shape"], "values": [float(v) for v in vals]}
print(json.dumps(out))
`;

function dir(): string {
  return mkdtempSync(join(tmpdir(), "fgrpo-st-"));
}

test("safetensors round trip is bit-exact for every dtype", () => {
  T.tidy(() => {
    T.manualSeed(3);
    const tensors = new Map<string, T.Tensor>([
      ["a.f32", T.randn([3, 5])],
      ["b.f64", T.randn([2, 2], { dtype: "float64" })],
      ["c.f16", T.randn([7]).to("float16")],
      ["d.bf16", T.randn([4, 1]).to("bfloat16")],
      ["e.i64", T.tensor([1, -2, 2 ** 40], { dtype: "int64" })],
      ["f.i32", T.tensor([5, -6], { dtype: "int32" })],
      ["g.bool", T.tensor([1, 0, 1], { dtype: "bool" })],
      ["h.u8", T.tensor([255, 0], { dtype: "uint8" })],
      ["i.scalar", T.tensor(3.5).reshape()],
      ["j.empty", T.zeros([0, 3])],
    ]);
    const file = join(dir(), "x.safetensors");
    T.saveSafetensors(file, tensors, { format: "pt", note: "hi" });
    const back = T.loadSafetensors(file);
    assert.deepEqual(back.metadata, { format: "pt", note: "hi" });
    assert.deepEqual([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name)!;
      assert.equal(r.dtype, t.dtype, name);
      assert.deepEqual(r.shape, t.shape, name);
      assert.deepEqual(Buffer.from(r.data().buffer), Buffer.from(t.data().buffer), name);
    }
    // Writing what we read gives the same bytes.
    const file2 = join(dir(), "y.safetensors");
    T.saveSafetensors(file2, back.tensors, back.metadata);
    assert.deepEqual(readFileSync(file2), readFileSync(file));
  });
});

test("a file we write is read by an independent reader", () => {
  T.tidy(() => {
    const file = join(dir(), "z.safetensors");
    T.saveSafetensors(file, new Map([
      ["w", T.tensor([[1.5, -2], [0.25, 8]])],
      ["ids", T.tensor([7, 9, -1], { dtype: "int64" })],
      ["h", T.tensor([1.5, -2], { dtype: "float16" })],
    ]), { format: "pt" });
    const r = spawnSync("python3", ["-c", PYTHON_READER, file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.aligned, true);
    assert.deepEqual(out.metadata, { format: "pt" });
    assert.deepEqual(out.tensors.w, { dtype: "F32", shape: [2, 2], values: [1.5, -2, 0.25, 8] });
    assert.deepEqual(out.tensors.ids, { dtype: "I64", shape: [3], values: [7, 9, -1] });
    assert.deepEqual(out.tensors.h, { dtype: "F16", shape: [2], values: [1.5, -2] });
  });
});

test("we read a file laid out as other writers do (unsorted offsets, no padding)", () => {
  // Hand-built: header without padding, tensors stored in reverse name order.
  const header = JSON.stringify({ b: { dtype: "BF16", shape: [2], data_offsets: [0, 4] }, a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } });
  const data = new Uint8Array(8);
  new DataView(data.buffer).setUint16(0, 0x3fc0, true); // bf16 1.5
  new DataView(data.buffer).setUint16(2, 0xc000, true); // bf16 -2
  new DataView(data.buffer).setFloat32(4, 0.5, true);
  const buf = new Uint8Array(8 + header.length + 8);
  new DataView(buf.buffer).setBigUint64(0, BigInt(header.length), true);
  buf.set(Buffer.from(header), 8);
  buf.set(data, 8 + header.length);
  const file = join(dir(), "other.safetensors");
  writeFileSync(file, buf);
  T.tidy(() => {
    const { tensors } = T.loadSafetensors(file);
    assert.deepEqual(tensors.get("b")!.toArray(), [1.5, -2]);
    assert.equal(tensors.get("b")!.dtype, "bfloat16");
    assert.deepEqual(tensors.get("a")!.toArray(), [0.5]);
  });
});

test("corrupt safetensors files give errors naming the file and tensor", () => {
  const d = dir();
  const write = (name: string, header: object, dataBytes: number) => {
    const h = Buffer.from(JSON.stringify(header));
    const buf = Buffer.alloc(8 + h.length + dataBytes);
    buf.writeBigUInt64LE(BigInt(h.length), 0);
    h.copy(buf, 8);
    const f = join(d, name);
    writeFileSync(f, buf);
    return f;
  };
  const short = join(d, "short.safetensors");
  writeFileSync(short, Buffer.from([1, 2]));
  assert.throws(() => T.loadSafetensors(short), /short\.safetensors.*shorter/);
  const huge = join(d, "huge.safetensors");
  const hb = Buffer.alloc(16);
  hb.writeBigUInt64LE(1000n, 0);
  writeFileSync(huge, hb);
  assert.throws(() => T.loadSafetensors(huge), /header length 1000 exceeds/);
  assert.throws(() => T.loadSafetensors(write("dtype.safetensors", { w: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1)), /dtype\.safetensors.*field "w".*unsupported dtype/);
  assert.throws(() => T.loadSafetensors(write("off.safetensors", { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, 4)), /field "w".*outside/);
  assert.throws(() => T.loadSafetensors(write("size.safetensors", { w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8)), /field "w".*needs 12/);
  assert.throws(() => T.loadSafetensors(write("overlap.safetensors", { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8)), /overlaps/);
  assert.throws(() => T.loadSafetensors(join(d, "missing.safetensors")), /missing\.safetensors.*cannot read/);
});

test("openSafetensors reads the header, then each tensor on demand (in chunks), as decodeSafetensors does", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-st-open-"));
  const file = join(dir, "w.safetensors");
  const tensors = new Map([
    ["a", T.randn([7, 5])],
    ["b", T.arange(0, 11).to("bfloat16")],
    ["empty", T.zeros([0, 3])],
  ]);
  T.saveSafetensors(file, tensors, { format: "pt" });
  const whole = T.decodeSafetensors(readFileSync(file), file);
  const st = T.openSafetensors(file, { chunkBytes: 3 });
  try {
    assert.deepEqual(st.metadata, { format: "pt" });
    assert.deepEqual([...st.entries.keys()].sort(), ["a", "b", "empty"]);
    for (const [name, raw] of whole.tensors) {
      assert.deepEqual(st.entries.get(name)!.shape, raw.shape);
      assert.equal(st.entries.get(name)!.dtype, raw.dtype);
      assert.deepEqual(st.read(name), new Uint8Array(raw.bytes), name);
    }
  } finally {
    st.close();
  }
  const bytes = readFileSync(file);
  writeFileSync(join(dir, "short.safetensors"), bytes.subarray(0, bytes.byteLength - 4));
  assert.throws(() => T.openSafetensors(join(dir, "short.safetensors")), /short\.safetensors, field "[ab]": data_offsets .* lie outside/);
  assert.throws(() => T.openSafetensors(join(dir, "missing.safetensors")), /missing\.safetensors: cannot read/);
  for (const t of tensors.values()) t.dispose();
});
