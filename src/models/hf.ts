/**
 * Hugging Face checkpoint folders: config.json, model.safetensors (or shards listed in
 * model.safetensors.index.json) with HF tensor names, and tokenizer files. Weights stored as
 * BF16/F16 are cast to the model's dtype: float32 by default, the dtype our CPU training runs in.
 */
import { existsSync, readFileSync, realpathSync, rmSync } from "node:fs";
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
  return readJsonFile(file) as Record<string, unknown>;
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
}

/** Loads the model of an HF-layout folder; parameters are `opts.dtype` (float32) and require gradients. */
export function loadHfModel(folder: string, device?: string, opts: HfLoadOptions = {}): LlamaModel {
  const dtype = opts.dtype ?? "float32";
  const configFile = join(folder, "config.json");
  if (!existsSync(configFile)) throw new InputError("not a checkpoint folder: no config.json", { file: folder });
  const config = configFromHF(readJson(configFile), configFile);
  const shapes = parameterShapes(config);
  const params = new Map<string, T.Tensor>();
  try {
    const files = weightFiles(folder);
    const listed = new Map([...files].flatMap(([file, names]) => names.map((n) => [n, file] as [string, string])));
    for (const file of files.keys()) {
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        throw new InputError(`cannot read weights: ${(e as Error).message}`, { file });
      }
      for (const [name, raw] of T.decodeSafetensors(buf, file).tensors) {
        if (isIgnorable(name, config)) continue;
        // An index names the shard of each tensor; a tensor found elsewhere too would be loaded twice.
        if (listed.size > 0 && listed.get(name) !== file) throw new InputError(`tensor not listed for this shard in model.safetensors.index.json`, { file, field: name });
        if (params.has(name)) throw new InputError("tensor appears twice", { file, field: name });
        const shape = shapes.get(name);
        if (!shape) throw new InputError(`unexpected tensor for a ${config.modelType} model`, { file, field: name });
        if (!FLOAT_DTYPES.has(raw.dtype)) throw new InputError(`weights must be floating point, got ${raw.dtype}`, { file, field: name });
        if (raw.shape.join(",") !== shape.join(",")) throw new InputError(`shape [${raw.shape}] does not match the config's [${shape}]`, { file, field: name });
        params.set(name, T.keep(T.tidy(() => T.fromBytes(raw.bytes, raw.shape, raw.dtype).to(dtype).toDevice(device ?? "cpu"))).requiresGrad_());
      }
    }
    for (const name of shapes.keys()) if (!params.has(name)) throw new InputError(`missing tensor ${name}`, { file: folder });
  } catch (e) {
    for (const t of params.values()) t.dispose();
    throw e;
  }
  return new LlamaModel(config, params);
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
  /** The dtype the weights are stored in (default float32); config.json's torch_dtype says it. */
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
 * config.json, model.safetensors or shards with an index (float32 unless opts.dtype says),
 * tokenizer files. Each file is written atomically; config.json last, so a folder with a config
 * always has its weights. A model with interleaved RoPE is converted to the rotate-half
 * convention (q/k rows permuted per head) on the way out.
 */
export function saveHfCheckpoint(folder: string, model: LlamaModel, tokenizer?: Tokenizer | null, opts: HfSaveOptions = {}): void {
  const c = model.config;
  const dtype = opts.dtype ?? "float32";
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
