/**
 * The configuration of a Llama-family decoder (Llama, Qwen2, Qwen3), read from and written to
 * Hugging Face `config.json` so our checkpoints load in other tools and theirs load here.
 */
import { InputError } from "../util/errors.js";

export type ModelType = "llama" | "qwen2" | "qwen3";

export interface LlamaConfig {
  /** The HF `model_type`; decides the defaults of attentionBias and qkNorm. */
  modelType: ModelType;
  vocabSize: number;
  /** d_model. */
  hiddenSize: number;
  /** Width of the SwiGLU MLP. */
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); numHeads must be a multiple. */
  numKvHeads: number;
  /** Per-head width; hiddenSize / numHeads unless the checkpoint says otherwise (Qwen3 does). */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /**
   * RoPE on interleaved pairs (x0,x1),(x2,x3)… as llama2.c and Meta's original code do, instead
   * of HF's rotate-half pairs (x_i, x_{i+D/2}). The two are the same model up to a permutation
   * of the q/k projection rows; the HF saver applies it so saved checkpoints are standard.
   */
  ropeInterleaved: boolean;
  maxPositionEmbeddings: number;
  /** The output head shares the token embedding matrix. */
  tieWordEmbeddings: boolean;
  /** Biases on the q, k and v projections (Qwen2). */
  attentionBias: boolean;
  /** RMSNorm over each head of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  bosTokenId: number | null;
  /** One or several end-of-sequence ids (HF allows a list). */
  eosTokenIds: number[];
  padTokenId: number | null;
}

type Json = Record<string, unknown>;

function num(json: Json, field: string, file: string, fallback?: number): number {
  const v = json[field];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new InputError("missing required number", { file, field });
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw new InputError(`expected a number, got ${JSON.stringify(v)}`, { file, field });
  return v;
}

function positiveInt(json: Json, field: string, file: string, fallback?: number): number {
  const v = num(json, field, file, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new InputError(`expected a positive integer, got ${v}`, { file, field });
  return v;
}

function optionalId(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

/** Reads an HF `config.json` object (model_type llama, qwen2 or qwen3). */
export function configFromHF(json: Json, file = "config.json"): LlamaConfig {
  const modelType = json.model_type;
  if (modelType !== "llama" && modelType !== "qwen2" && modelType !== "qwen3") {
    throw new InputError(`unsupported model_type ${JSON.stringify(modelType)} (supported: llama, qwen2, qwen3)`, { file, field: "model_type" });
  }
  const hiddenSize = positiveInt(json, "hidden_size", file);
  const numHeads = positiveInt(json, "num_attention_heads", file);
  const numKvHeads = positiveInt(json, "num_key_value_heads", file, numHeads);
  if (numHeads % numKvHeads !== 0) throw new InputError(`num_attention_heads ${numHeads} is not a multiple of ${numKvHeads}`, { file, field: "num_key_value_heads" });
  const headDim = json.head_dim == null ? hiddenSize / numHeads : positiveInt(json, "head_dim", file);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new InputError(`head dimension ${headDim} must be an even integer`, { file, field: "head_dim" });
  const scaling = json.rope_scaling;
  if (scaling !== undefined && scaling !== null) throw new InputError("rope_scaling is not supported", { file, field: "rope_scaling" });
  const eos = json.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === "number") : optionalId(eos) === null ? [] : [eos as number];
  return {
    modelType,
    vocabSize: positiveInt(json, "vocab_size", file),
    hiddenSize,
    intermediateSize: positiveInt(json, "intermediate_size", file),
    numLayers: positiveInt(json, "num_hidden_layers", file),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(json, "rms_norm_eps", file, 1e-6),
    ropeTheta: num(json, "rope_theta", file, 10000),
    ropeInterleaved: json.fgrpo_rope_interleaved === true,
    maxPositionEmbeddings: positiveInt(json, "max_position_embeddings", file, 2048),
    tieWordEmbeddings: json.tie_word_embeddings === undefined ? false : json.tie_word_embeddings === true,
    attentionBias: modelType === "qwen2" ? true : json.attention_bias === true,
    qkNorm: modelType === "qwen3",
    bosTokenId: optionalId(json.bos_token_id),
    eosTokenIds,
    padTokenId: optionalId(json.pad_token_id),
  };
}

/** The HF `config.json` object for a config (interleaved RoPE is converted by the saver first). */
export function configToHF(c: LlamaConfig): Json {
  const architectures = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" }[c.modelType];
  const out: Json = {
    architectures: [architectures],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    hidden_act: "silu",
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxPositionEmbeddings,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.attentionBias,
    torch_dtype: "float32",
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    pad_token_id: c.padTokenId,
  };
  if (c.ropeInterleaved) out.fgrpo_rope_interleaved = true;
  return out;
}

/** Checks the invariants the model code relies on. */
export function validateConfig(c: LlamaConfig): void {
  if (c.numHeads % c.numKvHeads !== 0) throw new RangeError(`numHeads ${c.numHeads} must be a multiple of numKvHeads ${c.numKvHeads}`);
  if (c.headDim % 2 !== 0) throw new RangeError(`headDim ${c.headDim} must be even for RoPE`);
  if (c.attentionBias && c.modelType === "qwen3") throw new RangeError("qwen3 has no attention bias");
}

/** Small configurations for models trained from scratch on a task vocabulary. */
export const presets = {
  /**
   * The reference dimensions of ARCHITECTURE.md (d 256, 4 layers, 4 heads, SwiGLU of width
   * 4·d·2/3 rounded to 64 as in Llama), tied head: about 3.3 M parameters plus embeddings.
   */
  tiny(vocabSize: number, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
    return {
      modelType: "llama", vocabSize, hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 4, numKvHeads: 4,
      headDim: 64, rmsNormEps: 1e-5, ropeTheta: 10000, ropeInterleaved: false, maxPositionEmbeddings: 2048,
      tieWordEmbeddings: true, attentionBias: false, qkNorm: false, bosTokenId: 1, eosTokenIds: [2], padTokenId: 0,
      ...overrides,
    };
  },
  /** A few-thousand-parameter model for unit tests (2 layers, d 32, GQA 4→2 heads). */
  micro(vocabSize: number, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
    return presets.tiny(vocabSize, { hiddenSize: 32, intermediateSize: 64, numLayers: 2, numKvHeads: 2, headDim: 8, maxPositionEmbeddings: 512, ...overrides });
  },
};
