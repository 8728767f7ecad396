/**
 * Hugging Face checkpoint folders: config.json, model.safetensors (or shards listed in
 * model.safetensors.index.json) with HF tensor names, and tokenizer files. Weights stored as
 * BF16/F16 are cast to the model's dtype: float32 by default, the dtype our CPU training runs in.
 */
import { existsSync, realpathSync, rmSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import * as T from "../torch/index.js";
import { readJsonFile } from "../util/json-file.js";
import { InputError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { configFromHF, configToHF, type LlamaConfig } from "./config.js";
import { LlamaModel, parameterShapes } from "./llama.js";
import type { Tokenizer } from "./tokenizers/tokenizer.js";
import { HfTokenizer } from "./tokenizers/hf-tokenizer.js";
import { Llama2cTokenizer } from "./tokenizers/llama2c-bpe.js";
import { TaskVocabTokenizer } from "./tokenizers/task-vocab-tokenizer.js";
import { TaskVocab } from "./task-vocab.js";

function readJson(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("expected a JSON object", { file });
  return value as Record<string, unknown>;
}

/** The safetensors files of a folder and, for each tensor name, the file holding it. */
function weightFiles(folder: string): Map<string, string[]> {
  const single = join(folder, "model.safetensors");
  if (existsSync(single)) return new Map([[single, []]]);
  const indexFile = join(folder, "model.safetensors.index.json");
  if (!existsSync(indexFile)) throw new InputError("no model.safetensors or model.safetensors.index.json in the checkpoint folder", { file: folder });
  const map = readJson(indexFile).weight_map;
  if (!map || typeof map !== "object") throw new InputError("missing weight_map", { file: indexFile, field: "weight_map" });
  const files = new Map<string, string[]>();
  const root = realpathSync(folder);
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    const field = `weight_map.${name}`;
    if (typeof shard !== "string" || shard === "") throw new InputError(`shard of ${name} is not a file name`, { file: indexFile, field });
    // A shard must be a file of this folder: an index must not make us read ../../elsewhere.
    const path = resolve(folder, shard);
    if (!isInside(root, path)) throw new InputError(`shard ${JSON.stringify(shard)} lies outside the checkpoint folder`, { file: indexFile, field });
    if (!existsSync(path)) throw new InputError(`shard ${JSON.stringify(shard)} not found`, { file: indexFile, field });
    if (!isInside(root, realpathSync(path))) throw new InputError(`shard ${JSON.stringify(shard)} links outside the checkpoint folder`, { file: indexFile, field });
    files.set(path, [...(files.get(path) ?? []), name]);
  }
  return files;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

const FLOAT_DTYPES = new Set<string>(["float32", "float64", "bfloat16", "float16"]);

/** Tensors that HF files may carry but the model recomputes or shares. */
function isIgnorable(name: string, c: LlamaConfig): boolean {
  return name.endsWith("rotary_emb.inv_freq") || (c.tieWordEmbeddings && name === "lm_head.weight");
}

export interface HfLoadOptions {
  /**
   * The dtype parameters are cast to (whatever the file stores): float32 by default, as CPU
   * training runs; bfloat16 or float16 where the device computes in it.
   */
  dtype?: "float32" | "float64" | "bfloat16" | "float16";
  /** Bytes read at a time (default 64 MiB); tests make it small to exercise block-wise reading. */
  chunkBytes?: number;
}

/** Read size for weights: one reused buffer, so loading leaves no garbage behind (see readTensor). */
const CHUNK_BYTES = 64 * 2 ** 20;

/**
 * One tensor of a safetensors file in `dtype` on `device`, read in row blocks of at most the
 * chunk's size through the reused `chunk` buffer: each block goes to the device in the stored
 * dtype (half the bytes for BF16) and is cast into its rows of the result. Peak memory is the
 * result plus one block (reading whole tensors would hold each one's bytes twice more, and leave
 * the dropped byte arrays to a later garbage collection). Measured by `npm run bench -- hf-load`.
 */
function readTensor(st: ReturnType<typeof T.openSafetensors>, name: string, e: T.SafetensorsEntry, dtype: T.DType, device: string | undefined, chunk: Uint8Array): T.Tensor {
  const [rows = 1, ...rest] = e.shape;
  const rowBytes = rest.reduce((a, b) => a * b, 1) * T.DTYPE_BYTES[e.dtype];
  const out = T.empty(e.shape, { dtype, device });
  if (rows === 0 || rowBytes === 0) return out;
  const block = Math.max(1, Math.floor(chunk.byteLength / rowBytes));
  for (let r0 = 0; r0 < rows; r0 += block) {
    const n = Math.min(block, rows - r0);
    // A row wider than the chunk (never for model weights) gets its own buffer.
    const bytes = n * rowBytes <= chunk.byteLength ? chunk.subarray(0, n * rowBytes) : new Uint8Array(n * rowBytes);
    st.readInto(name, bytes, r0 * rowBytes);
    T.tidy(() => {
      const part = T.fromBytes(bytes, e.shape.length === 0 ? [] : [n, ...rest], e.dtype, device);
      (e.shape.length === 0 ? out : out.narrow(0, r0, n)).copy_(part);
    });
  }
  return T.keep(out);
}

/** Loads the model of an HF-layout folder; parameters are `opts.dtype` (float32) and require gradients. */
export function loadHfModel(folder: string, device?: string, opts: HfLoadOptions = {}): LlamaModel {
  const dtype = opts.dtype ?? "float32";
  const configFile = join(folder, "config.json");
  if (!existsSync(configFile)) throw new InputError("not a checkpoint folder: no config.json", { file: folder });
  const json = readJson(configFile);
  if ("rl" in json && "task" in json && !("model_type" in json)) {
    throw new InputError(`this is a training run's folder, not a model: pass its model folder instead (${join(folder, "final")}, or a checkpoint's model/ folder)`, { file: folder });
  }
  const config = configFromHF(json, configFile);
  const shapes = parameterShapes(config);
  const params = new Map<string, T.Tensor>();
  try {
    const files = weightFiles(folder);
    const chunk = new Uint8Array(opts.chunkBytes ?? CHUNK_BYTES);
    const listed = new Map([...files].flatMap(([file, names]) => names.map((n) => [n, file] as [string, string])));
    for (const file of files.keys()) {
      const st = T.openSafetensors(file);
      try {
        for (const [name, raw] of st.entries) {
          if (isIgnorable(name, config)) continue;
          // An index names the shard of each tensor; a tensor found elsewhere too would be loaded twice.
          if (listed.size > 0 && listed.get(name) !== file) throw new InputError(`tensor not listed for this shard in model.safetensors.index.json`, { file, field: name });
          if (params.has(name)) throw new InputError("tensor appears twice", { file, field: name });
          const shape = shapes.get(name);
          if (!shape) throw new InputError(`unexpected tensor for a ${config.modelType} model`, { file, field: name });
          if (!FLOAT_DTYPES.has(raw.dtype)) throw new InputError(`weights must be floating point, got ${raw.dtype}`, { file, field: name });
          if (raw.shape.join(",") !== shape.join(",")) throw new InputError(`shape [${raw.shape}] does not match the config's [${shape}]`, { file, field: name });
          params.set(name, readTensor(st, name, raw, dtype, device, chunk).requiresGrad_());
        }
      } finally {
        st.close();
      }
    }
    for (const name of shapes.keys()) if (!params.has(name)) throw new InputError(`missing tensor ${name}`, { file: folder });
  } catch (e) {
    for (const t of params.values()) t.dispose();
    throw e;
  }
  return new LlamaModel(config, params);
}

/**
 * The end-of-sequence ids of a folder's generation_config.json (transformers' generate() stops on
 * these: Qwen3 adds <|endoftext|> to config.json's <|im_end|>, Llama 3 Instruct lists three), or []
 * when the file is absent or names none.
 */
export function generationEosTokenIds(folder: string): number[] {
  const file = join(folder, "generation_config.json");
  if (!existsSync(file)) return [];
  const eos = readJson(file).eos_token_id;
  const ids = Array.isArray(eos) ? eos : eos === undefined || eos === null ? [] : [eos];
  for (const id of ids) if (!Number.isInteger(id) || (id as number) < 0) throw new InputError(`expected token ids, got ${JSON.stringify(eos)}`, { file, field: "eos_token_id" });
  return ids as number[];
}

/** The tokenizer saved in a folder: tokenizer.json, llama2.c's tokenizer.bin, or our vocab.json. */
export function loadFolderTokenizer(folder: string, vocabSize?: number): Tokenizer | null {
  if (existsSync(join(folder, "tokenizer.json"))) return HfTokenizer.load(folder);
  if (existsSync(join(folder, "tokenizer.bin"))) return Llama2cTokenizer.load(join(folder, "tokenizer.bin"), vocabSize);
  if (existsSync(join(folder, "vocab.json"))) {
    const file = join(folder, "vocab.json");
    return new TaskVocabTokenizer(TaskVocab.fromJSON(readJson(file), file));
  }
  return null;
}

/**
 * Row order that turns interleaved-pair RoPE weights into rotate-half ones (HF's conversion of
 * Meta checkpoints): within each head, rows 0,2,4,… then 1,3,5,….
 */
function rotateHalfRows(heads: number, headDim: number): T.Tensor {
  const idx = new BigInt64Array(heads * headDim);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < headDim; r++) idx[h * headDim + r] = BigInt(h * headDim + (r < half ? 2 * r : 2 * (r - half) + 1));
  }
  return T.tensor(idx);
}

export interface HfSaveOptions {
  /** The dtype the weights are stored in (default: the model's, float32 for a float64 model); config.json's torch_dtype says it. */
  dtype?: "float32" | "bfloat16" | "float16";
  /**
   * Split the weights into shards of at most this many bytes (a tensor is never split), written as
   * model-0000i-of-0000n.safetensors with model.safetensors.index.json, as transformers does.
   * Default: one model.safetensors.
   */
  maxShardBytes?: number;
}

/**
 * Saves a model (and its tokenizer) as an HF folder that transformers and other tools load:
 * config.json, model.safetensors or shards with an index (in the model's dtype unless opts.dtype says),
 * tokenizer files. Each file is written atomically; config.json last, so a folder with a config
 * always has its weights. A model with interleaved RoPE is converted to the rotate-half
 * convention (q/k rows permuted per head) on the way out.
 */
export function saveHfCheckpoint(folder: string, model: LlamaModel, tokenizer?: Tokenizer | null, opts: HfSaveOptions = {}): void {
  const c = model.config;
  const own = model.headWeight.dtype;
  const dtype = opts.dtype ?? (own === "bfloat16" || own === "float16" ? own : "float32");
  T.tidy(() =>
    T.noGrad(() => {
      const out = new Map<string, T.Tensor>();
      const qRows = c.ropeInterleaved ? rotateHalfRows(c.numHeads, c.headDim) : null;
      const kRows = c.ropeInterleaved ? rotateHalfRows(c.numKvHeads, c.headDim) : null;
      const headRows = c.ropeInterleaved ? rotateHalfRows(1, c.headDim) : null;
      for (const [name, t] of model.params) {
        let v = t.detach().toDevice("cpu");
        if (qRows && /q_proj\.(weight|bias)$/.test(name)) v = v.indexSelect(0, qRows);
        if (kRows && /k_proj\.(weight|bias)$/.test(name)) v = v.indexSelect(0, kRows);
        if (headRows && /[qk]_norm\.weight$/.test(name)) v = v.indexSelect(0, headRows);
        out.set(name, v.to(dtype).contiguous());
      }
      writeWeights(folder, out, opts.maxShardBytes);
    }),
  );
  if (tokenizer) saveTokenizer(folder, tokenizer);
  const config = { ...configToHF({ ...c, ropeInterleaved: false }), torch_dtype: dtype };
  writeFileAtomic(join(folder, "config.json"), JSON.stringify(config, null, 2) + "\n");
}

/** One model.safetensors, or shards plus model.safetensors.index.json (a stale other form is removed). */
function writeWeights(folder: string, tensors: Map<string, T.Tensor>, maxShardBytes?: number): void {
  const single = join(folder, "model.safetensors");
  const index = join(folder, "model.safetensors.index.json");
  if (maxShardBytes === undefined) {
    T.saveSafetensors(single, tensors, { format: "pt" });
    rmSync(index, { force: true });
    return;
  }
  if (!(maxShardBytes > 0)) throw new RangeError(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const shards: Map<string, T.Tensor>[] = [];
  let bytes = Infinity;
  let total = 0;
  for (const [name, t] of tensors) {
    const size = t.numel * T.DTYPE_BYTES[t.dtype];
    if (bytes + size > maxShardBytes) {
      shards.push(new Map());
      bytes = 0;
    }
    shards.at(-1)!.set(name, t);
    bytes += size;
    total += size;
  }
  const weightMap: Record<string, string> = {};
  const pad = (i: number) => String(i).padStart(5, "0");
  shards.forEach((shard, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    T.saveSafetensors(join(folder, file), shard, { format: "pt" });
    for (const name of shard.keys()) weightMap[name] = file;
  });
  writeFileAtomic(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
  rmSync(single, { force: true });
}

/** Writes the tokenizer's own files into a checkpoint folder. */
export function saveTokenizer(folder: string, tokenizer: Tokenizer): void {
  if (tokenizer instanceof HfTokenizer) {
    writeFileAtomic(join(folder, "tokenizer.json"), JSON.stringify(tokenizer.json));
    writeFileAtomic(join(folder, "tokenizer_config.json"), JSON.stringify(tokenizer.config, null, 2) + "\n");
  } else if (tokenizer instanceof Llama2cTokenizer) {
    writeFileAtomic(join(folder, "tokenizer.bin"), tokenizer.toBytes());
  } else if (tokenizer instanceof TaskVocabTokenizer) {
    writeFileAtomic(join(folder, "vocab.json"), JSON.stringify(tokenizer.vocab.toJSON()) + "\n");
  } else {
    throw new TypeError("saveTokenizer: unknown tokenizer type");
  }
}
