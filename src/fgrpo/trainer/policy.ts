/**
 * The policy the trainer optimises: a Llama-family decoder over a task vocabulary, saved as an
 * HF-layout folder (config.json + model.safetensors) plus the vocabulary (vocab.json).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { LlamaModel } from "../../models/llama.js";
import { presets } from "../../models/config.js";
import { loadHfModel, saveHfCheckpoint } from "../../models/hf.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { readJsonFile } from "../../util/json-file.js";
import { InputError } from "../../util/errors.js";
import type { TrainConfig } from "./config.js";

export interface PolicyModel {
  model: LlamaModel;
  vocab: TaskVocab;
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
  return { model: LlamaModel.init(llama), vocab };
}

/** Writes the policy into `dir` (created): HF layout plus vocab.json. */
export function savePolicy(p: PolicyModel, dir: string): void {
  saveHfCheckpoint(dir, p.model);
  writeFileAtomic(join(dir, "vocab.json"), JSON.stringify(p.vocab.toJSON()));
}

/** Reads a policy folder written by savePolicy. */
export function loadPolicy(dir: string): PolicyModel {
  const vocabFile = join(dir, "vocab.json");
  if (!existsSync(vocabFile)) throw new InputError("not a policy checkpoint: vocab.json is missing (fgrpo trains task-vocabulary models)", { file: dir });
  const vocab = TaskVocab.fromJSON(readJsonFile(vocabFile), vocabFile);
  const model = loadHfModel(dir);
  model.params.forEach((t) => t.requiresGrad_(true));
  if (model.config.vocabSize !== vocab.size) throw new InputError(`model vocabulary (${model.config.vocabSize}) does not match vocab.json (${vocab.size})`, { file: dir });
  return { model, vocab };
}

/** Copies the weights of a saved policy into an existing one (same shapes), in place. */
export function loadPolicyWeights(p: PolicyModel, dir: string): void {
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

export function disposePolicy(p: PolicyModel): void {
  p.model.params.forEach((t) => t.dispose());
}
