/**
 * llama2.c checkpoints, export "version 1": a 256-byte header
 *
 *   uint32 magic "ak42" (0x616b3432) · int32 version = 1 · int32 dim, hidden_dim, n_layers,
 *   n_heads, n_kv_heads, vocab_size, max_seq_len · uint8 shared_classifier · zero padding
 *
 * then float32 tensors: every attention norm, every ffn norm, the final norm, the token
 * embeddings, then wq, wk, wv, wo, w1 (gate), w2 (down), w3 (up) for all layers, and the
 * classifier when it is not shared. llama2.c rotates interleaved pairs, so the config says so.
 */
import { readFileSync } from "node:fs";
import * as T from "../torch/index.js";
import { InputError } from "../util/errors.js";
import type { LlamaConfig } from "./config.js";
import { LlamaModel, parameterShapes } from "./llama.js";

const MAGIC = 0x616b3432;
const HEADER_BYTES = 256;

/** Reads the header; throws InputError naming the file when it is not a version-1 checkpoint. */
export function readLlama2cHeader(buf: Uint8Array, file: string): LlamaConfig {
  if (buf.byteLength < HEADER_BYTES) throw new InputError(`not a llama2.c checkpoint: ${buf.byteLength} bytes, shorter than the 256-byte header`, { file });
  const view = new DataView(buf.buffer, buf.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) !== MAGIC) throw new InputError('not a llama2.c version-1 checkpoint: magic is not "ak42" (legacy version-0 files are not supported)', { file });
  const version = view.getInt32(4, true);
  if (version !== 1) throw new InputError(`unsupported llama2.c export version ${version} (supported: 1)`, { file, field: "version" });
  const names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "max_seq_len"] as const;
  const h = Object.fromEntries(names.map((n, i) => [n, view.getInt32(8 + 4 * i, true)])) as Record<(typeof names)[number], number>;
  for (const n of names) if (!(h[n] > 0)) throw new InputError(`header value ${h[n]} must be positive`, { file, field: n });
  if (h.dim % h.n_heads !== 0 || h.n_heads % h.n_kv_heads !== 0) throw new InputError(`inconsistent heads: dim ${h.dim}, n_heads ${h.n_heads}, n_kv_heads ${h.n_kv_heads}`, { file, field: "n_heads" });
  const shared = view.getUint8(36) !== 0;
  return {
    modelType: "llama", vocabSize: h.vocab_size, hiddenSize: h.dim, intermediateSize: h.hidden_dim, numLayers: h.n_layers,
    numHeads: h.n_heads, numKvHeads: h.n_kv_heads, headDim: h.dim / h.n_heads, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null,
    ropeInterleaved: true, maxPositionEmbeddings: h.max_seq_len, tieWordEmbeddings: shared, attentionBias: false, qkNorm: false,
    bosTokenId: 1, eosTokenIds: [2], padTokenId: null,
  };
}

/** The HF names of the tensors in file order. */
function fileOrder(c: LlamaConfig): string[] {
  const layers = (suffix: string) => Array.from({ length: c.numLayers }, (_, l) => `model.layers.${l}.${suffix}`);
  return [
    ...layers("input_layernorm.weight"),
    ...layers("post_attention_layernorm.weight"),
    "model.norm.weight",
    "model.embed_tokens.weight",
    ...layers("self_attn.q_proj.weight"),
    ...layers("self_attn.k_proj.weight"),
    ...layers("self_attn.v_proj.weight"),
    ...layers("self_attn.o_proj.weight"),
    ...layers("mlp.gate_proj.weight"),
    ...layers("mlp.down_proj.weight"),
    ...layers("mlp.up_proj.weight"),
    ...(c.tieWordEmbeddings ? [] : ["lm_head.weight"]),
  ];
}

/** Loads a llama2.c version-1 checkpoint; parameters require gradients. */
export function loadLlama2c(file: string, device?: string): LlamaModel {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read checkpoint: ${(e as Error).message}`, { file });
  }
  const config = readLlama2cHeader(buf, file);
  const shapes = parameterShapes(config);
  const order = fileOrder(config);
  const needed = HEADER_BYTES + order.reduce((n, name) => n + 4 * shapes.get(name)!.reduce((a, b) => a * b, 1), 0);
  if (buf.byteLength !== needed) throw new InputError(`checkpoint is ${buf.byteLength} bytes, its header implies ${needed} (truncated or not a llama2.c v1 file)`, { file });
  const params = new Map<string, T.Tensor>();
  let off = HEADER_BYTES;
  for (const name of order) {
    const shape = shapes.get(name)!;
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    params.set(name, T.keep(T.fromBytes(buf.subarray(off, off + bytes), shape, "float32", device)).requiresGrad_());
    off += bytes;
  }
  return new LlamaModel(config, params);
}
