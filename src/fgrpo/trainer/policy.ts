/**
 * The policy the trainer optimises: a Llama-family decoder over a task vocabulary, saved as an
 * HF-layout folder (config.json + model.safetensors) plus the vocabulary (vocab.json).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { LlamaModel } from "../../models/llama.js";
import { presets } from "../../models/config.js";
import { loadHfModel, saveHfCheckpoint } from "../../models/hf.js";
import { ADAPTER_WEIGHTS, saveAdapter } from "../../models/peft.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { InputError } from "../../util/errors.js";
import type { TrainConfig } from "./config.js";

export interface PolicyModel {
  model: LlamaModel;
  vocab: TaskVocab;
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

/** A new model for the vocabulary, with the config's dimensions, seeded by T.manualSeed. */
export function createPolicy(config: TrainConfig, vocab: TaskVocab, maxPositions: number): PolicyModel {
  const m = config.model;
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
  const p: PolicyModel = { model: LlamaModel.init(llama), vocab };
  configurePolicy(p, m);
  return p;
}

/**
 * Writes the policy into `dir` (created): HF layout plus vocab.json. With LoRA the HF weights
 * are merged (W + scaling·B·A) and the adapter alone goes to `dir`/adapter in PEFT's format.
 */
export function savePolicy(p: PolicyModel, dir: string): void {
  p.model.withMergedAdapters((merged) => saveHfCheckpoint(dir, merged));
  if (p.model.lora) {
    mkdirSync(join(dir, ADAPTER_DIR), { recursive: true });
    saveAdapter(join(dir, ADAPTER_DIR), p.model, p.baseModel ?? null);
  }
  writeFileAtomic(join(dir, "vocab.json"), JSON.stringify(p.vocab.toJSON()));
}

/** Reads a policy folder written by savePolicy. */
export function loadPolicy(dir: string): PolicyModel {
  const vocabFile = join(dir, "vocab.json");
  if (!existsSync(vocabFile)) throw new InputError("not a policy checkpoint: vocab.json is missing (fgrpo trains task-vocabulary models)", { file: dir });
  const vocab = TaskVocab.fromJSON(JSON.parse(readFileSync(vocabFile, "utf8")), vocabFile);
  const model = loadHfModel(dir);
  model.params.forEach((t) => t.requiresGrad_(true));
  if (model.config.vocabSize !== vocab.size) throw new InputError(`model vocabulary (${model.config.vocabSize}) does not match vocab.json (${vocab.size})`, { file: dir });
  return { model, vocab };
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
