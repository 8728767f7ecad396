/**
 * The policy the trainer optimises: a Llama-family decoder and its policy codec, saved as an
 * HF-layout folder (config.json + model.safetensors) plus the codec's files — vocab.json for a
 * task-vocabulary model, the tokenizer files for a pretrained text model (so `transformers`
 * loads the folder as it loaded the original).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { LlamaModel } from "../../models/llama.js";
import { presets } from "../../models/config.js";
import { loadHfModel, saveHfCheckpoint } from "../../models/hf.js";
import { ADAPTER_WEIGHTS, saveAdapter } from "../../models/peft.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { readJsonFile } from "../../util/json-file.js";
import { InputError } from "../../util/errors.js";
import { isTextPolicyFolder, type TrainConfig } from "./config.js";
import { TaskVocabCodec, type PolicyCodec } from "./policy-codec.js";
import { TextPolicyCodec } from "./text-codec.js";

export interface PolicyModel {
  model: LlamaModel;
  codec: PolicyCodec;
  /** Where the base weights came from (model.checkpoint), recorded in a saved LoRA adapter. */
  baseModel?: string | null;
}

/** The folder of a saved policy that holds its LoRA adapter (PEFT format). */
export const ADAPTER_DIR = "adapter";

/** Applies the config's model options: LoRA adapters (freezing the base) and activation checkpointing. */
export function configurePolicy(p: PolicyModel, m: TrainConfig["model"]): void {
  if (m.lora) p.model.addLora({ r: m.lora.r, alpha: m.lora.alpha, dropout: m.lora.dropout, targetModules: m.lora.target_modules });
  p.model.gradientCheckpointing = m.gradient_checkpointing;
  p.baseModel = m.checkpoint;
}

/** A new model for a task vocabulary, with the config's dimensions, seeded by T.manualSeed. */
export function createPolicy(config: TrainConfig, codec: TaskVocabCodec, maxPositions: number): PolicyModel {
  const m = config.model;
  const vocab = codec.vocab;
  const llama = presets.tiny(vocab.size, {
    hiddenSize: m.hidden_size,
    numLayers: m.num_layers,
    numHeads: m.num_heads,
    numKvHeads: m.num_kv_heads,
    headDim: m.hidden_size / m.num_heads,
    intermediateSize: m.intermediate_size,
    tieWordEmbeddings: m.tie_word_embeddings,
    maxPositionEmbeddings: maxPositions,
    bosTokenId: vocab.bosId,
    eosTokenIds: [vocab.eosId],
    padTokenId: vocab.padId,
  });
  const p: PolicyModel = { model: LlamaModel.init(llama), codec };
  configurePolicy(p, m);
  return p;
}

/**
 * Writes the policy into `dir` (created): HF layout plus the codec's files. With LoRA the HF
 * weights are merged (W + scaling·B·A) and the adapter alone goes to `dir`/adapter in PEFT's format.
 */
export function savePolicy(p: PolicyModel, dir: string): void {
  p.model.withMergedAdapters((merged) => saveHfCheckpoint(dir, merged));
  if (p.model.lora) {
    mkdirSync(join(dir, ADAPTER_DIR), { recursive: true });
    saveAdapter(join(dir, ADAPTER_DIR), p.model, p.baseModel ?? null);
  }
  p.codec.save(dir);
}

/**
 * The codec of a policy folder: vocab.json (a task-vocabulary model, ours) or tokenizer.json
 * (a pretrained text model: ours after training, or any HF checkpoint).
 */
export function loadPolicyCodec(config: TrainConfig, dir: string): PolicyCodec {
  if (isTextPolicyFolder(dir)) return TextPolicyCodec.fromFolder(config, dir);
  const vocabFile = join(dir, "vocab.json");
  if (!existsSync(vocabFile)) throw new InputError("not a policy checkpoint: neither vocab.json (a task-vocabulary model) nor tokenizer.json (a pretrained text model) is in the folder", { file: dir });
  return new TaskVocabCodec(config, TaskVocab.fromJSON(readJsonFile(vocabFile), vocabFile));
}

/** Loads the model of a policy folder for a codec (read with loadPolicyCodec), trainable. */
export function loadPolicyModel(dir: string, codec: PolicyCodec): PolicyModel {
  const model = loadHfModel(dir);
  model.params.forEach((t) => t.requiresGrad_(true));
  const size = model.config.vocabSize;
  // A text model's embedding is often padded past its tokenizer (Qwen: 151,936 rows for 151,669 ids).
  const fits = codec.kind === "text" ? size >= codec.vocabSize : size === codec.vocabSize;
  if (!fits) {
    model.params.forEach((t) => t.dispose());
    throw new InputError(`model vocabulary (${size}) does not match the ${codec.kind === "text" ? "tokenizer" : "vocab.json"} (${codec.vocabSize})`, { file: dir });
  }
  return { model, codec };
}

/** Reads a policy folder written by savePolicy (or an HF checkpoint with its tokenizer). */
export function loadPolicy(dir: string, config: TrainConfig): PolicyModel {
  return loadPolicyModel(dir, loadPolicyCodec(config, dir));
}

/**
 * Copies the weights of a saved policy into an existing one (same shapes), in place. With LoRA
 * only the adapter is read (the frozen base never changes).
 */
export function loadPolicyWeights(p: PolicyModel, dir: string): void {
  if (p.model.lora) {
    loadAdapterWeights(p, join(dir, ADAPTER_DIR, ADAPTER_WEIGHTS));
    return;
  }
  const saved = loadHfModel(dir);
  T.noGrad(() => {
    for (const [name, t] of p.model.params) {
      const src = saved.params.get(name);
      if (!src) throw new InputError(`checkpoint lacks parameter ${name}`, { file: dir });
      t.copy_(src);
    }
  });
  saved.params.forEach((t) => t.dispose());
}

function loadAdapterWeights(p: PolicyModel, file: string): void {
  if (!existsSync(file)) throw new InputError("checkpoint lacks the LoRA adapter", { file });
  const { tensors } = T.loadSafetensors(file, p.model.device);
  try {
    T.noGrad(() => {
      for (const [name, t] of p.model.trainableParameters()) {
        const src = tensors.get(name);
        if (!src || src.shape.join() !== t.shape.join()) throw new InputError(`adapter tensor ${name} is missing or has another shape`, { file });
        t.copy_(src);
      }
    });
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}

export function disposePolicy(p: PolicyModel): void {
  p.model.params.forEach((t) => t.dispose());
  p.model.lora?.dispose();
}
