/**
 * One entry point for every checkpoint format: a llama2.c `.bin` file or an HF-layout folder,
 * with its tokenizer found beside it or given explicitly.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { readJsonFile } from "../util/json-file.js";
import { InputError } from "../util/errors.js";
import type { LlamaModel } from "./llama.js";
import { loadLlama2c } from "./llama2c.js";
import { loadFolderTokenizer, loadHfModel } from "./hf.js";
import { TaskVocab } from "./task-vocab.js";
import type { Tokenizer } from "./tokenizers/tokenizer.js";
import { HfTokenizer } from "./tokenizers/hf-tokenizer.js";
import { Llama2cTokenizer } from "./tokenizers/llama2c-bpe.js";
import { TaskVocabTokenizer } from "./tokenizers/task-vocab-tokenizer.js";

export interface LoadedCheckpoint {
  model: LlamaModel;
  /** Null when none was given and none lies beside the checkpoint. */
  tokenizer: Tokenizer | null;
  format: "llama2c" | "hf";
}

/**
 * Loads a tokenizer file or folder: llama2.c's tokenizer.bin (any .bin), an HF tokenizer.json,
 * our task vocabulary ({"type":"fgrpo-task-vocab"}), or a folder holding one of them.
 */
export function loadTokenizer(path: string, vocabSize?: number): Tokenizer {
  if (!existsSync(path)) throw new InputError("tokenizer not found", { file: path });
  if (statSync(path).isDirectory()) {
    const t = loadFolderTokenizer(path, vocabSize);
    if (!t) throw new InputError("no tokenizer.json, tokenizer.bin or vocab.json in this folder", { file: path });
    return t;
  }
  if (path.endsWith(".bin")) return Llama2cTokenizer.load(path, vocabSize);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new InputError(`not a tokenizer.bin and not valid JSON: ${(e as Error).message}`, { file: path });
  }
  if ((json as { type?: unknown }).type === "fgrpo-task-vocab") return new TaskVocabTokenizer(TaskVocab.fromJSON(json, path));
  if ((json as { model?: unknown }).model === undefined) throw new InputError('not a tokenizer.json (no "model" field) nor a task vocabulary', { file: path, field: "model" });
  const configFile = join(dirname(path), "tokenizer_config.json");
  const config = existsSync(configFile) ? (readJsonFile(configFile) as Record<string, unknown>) : {};
  return new HfTokenizer(json as Record<string, unknown>, config);
}

/** Loads a llama2.c `.bin` checkpoint or an HF-layout folder (and a tokenizer: given, or found beside it). */
export function loadCheckpoint(path: string, opts: { tokenizer?: string; device?: string } = {}): LoadedCheckpoint {
  if (!existsSync(path)) throw new InputError("checkpoint not found", { file: path });
  const isFolder = statSync(path).isDirectory();
  const model = isFolder ? loadHfModel(path, opts.device) : loadLlama2c(path, opts.device);
  try {
    let tokenizer: Tokenizer | null;
    if (opts.tokenizer !== undefined) tokenizer = loadTokenizer(opts.tokenizer, model.config.vocabSize);
    else if (isFolder) tokenizer = loadFolderTokenizer(path, model.config.vocabSize);
    else {
      const beside = join(dirname(path), "tokenizer.bin");
      tokenizer = existsSync(beside) ? Llama2cTokenizer.load(beside, model.config.vocabSize) : null;
    }
    if (tokenizer && tokenizer.vocabSize > model.config.vocabSize) {
      throw new InputError(`tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary has ${model.config.vocabSize}`, { file: opts.tokenizer ?? path });
    }
    return { model, tokenizer, format: isFolder ? "hf" : "llama2c" };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
