/**
 * Hugging Face checkpoint folders: config.json, model.safetensors (or shards listed in
 * model.safetensors.index.json) with HF tensor names, and tokenizer files. Weights stored as
 * BF16/F16 are converted to float32, the dtype our CPU training runs in.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
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

/**
 * The path of a shard named by an index file, refused unless it stays inside the folder: an
 * index must not make us open files elsewhere (`../`, absolute paths, links that lead out).
 */
function shardPath(folder: string, shard: string, indexFile: string): string {
  const root = resolve(folder);
  const path = resolve(root, shard);
  const rel = relative(root, path);
  const outside = (r: string) => r === "" || r === ".." || r.startsWith(`..${sep}`) || isAbsolute(r);
  if (shard.includes("\0") || outside(rel)) throw new InputError(`shard "${shard}" is not a file inside the checkpoint folder`, { file: indexFile, field: "weight_map" });
  if (existsSync(path) && outside(relative(realpathSync(root), realpathSync(path)))) {
    throw new InputError(`shard "${shard}" links to a file outside the checkpoint folder`, { file: indexFile, field: "weight_map" });
  }
  return path;
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
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string") throw new InputError(`shard of ${name} is not a file name`, { file: indexFile, field: "weight_map" });
    const path = shardPath(folder, shard, indexFile);
    files.set(path, [...(files.get(path) ?? []), name]);
  }
  return files;
}

/** Tensors that HF files may carry but the model recomputes or shares. */
function isIgnorable(name: string, c: LlamaConfig): boolean {
  return name.endsWith("rotary_emb.inv_freq") || (c.tieWordEmbeddings && name === "lm_head.weight");
}

/** Loads the model of an HF-layout folder; parameters are float32 and require gradients. */
export function loadHfModel(folder: string, device?: string): LlamaModel {
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
    for (const file of weightFiles(folder).keys()) {
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        throw new InputError(`cannot read weights: ${(e as Error).message}`, { file });
      }
      for (const [name, raw] of T.decodeSafetensors(buf, file).tensors) {
        if (isIgnorable(name, config)) continue;
        const shape = shapes.get(name);
        if (!shape) throw new InputError(`unexpected tensor for a ${config.modelType} model`, { file, field: name });
        if (raw.shape.join(",") !== shape.join(",")) throw new InputError(`shape [${raw.shape}] does not match the config's [${shape}]`, { file, field: name });
        params.set(name, T.keep(T.tidy(() => T.fromBytes(raw.bytes, raw.shape, raw.dtype).to("float32").toDevice(device ?? "cpu"))).requiresGrad_());
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

/**
 * Saves a model (and its tokenizer) as an HF folder that transformers and other tools load:
 * config.json, model.safetensors (float32), tokenizer files. Each file is written atomically;
 * config.json last, so a folder with a config always has its weights. A model with interleaved
 * RoPE is converted to the rotate-half convention (q/k rows permuted per head) on the way out.
 */
export function saveHfCheckpoint(folder: string, model: LlamaModel, tokenizer?: Tokenizer | null): void {
  const c = model.config;
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
        out.set(name, v.contiguous());
      }
      T.saveSafetensors(join(folder, "model.safetensors"), out, { format: "pt" });
    }),
  );
  if (tokenizer) saveTokenizer(folder, tokenizer);
  writeFileAtomic(join(folder, "config.json"), JSON.stringify(configToHF({ ...c, ropeInterleaved: false }), null, 2) + "\n");
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
