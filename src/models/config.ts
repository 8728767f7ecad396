/**
 * The configuration of a Llama-family decoder (Llama, Qwen2, Qwen3), read from and written to
 * Hugging Face `config.json` so our checkpoints load in other tools and theirs load here.
 */
import { InputError } from "../util/errors.js";
import type { RopeScaling } from "../nn/rope.js";

export type { RopeScaling } from "../nn/rope.js";

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
  /** Long-context rescaling of RoPE's frequencies (`linear`, `llama3`); null or absent: none. */
  ropeScaling?: RopeScaling | null;
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

const ARCHITECTURES: Record<ModelType, string> = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" };
/** transformers' default max_position_embeddings per model type (used when the file has none). */
const DEFAULT_MAX_POSITIONS: Record<ModelType, number> = { llama: 2048, qwen2: 32768, qwen3: 32768 };

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The RoPE base and scaling of a config in either transformers form: v4 writes `rope_theta` and
 * `rope_scaling` ({type|rope_type, factor, …}) at top level; v5 writes `rope_parameters`
 * ({rope_type, rope_theta, factor, …}). Every key of the scaling object must be understood:
 * an unknown rope_type or parameter is an error naming it, never a silent default.
 */
function ropeFromHF(json: Json, file: string): { theta: number; scaling: RopeScaling | null } {
  const params = json.rope_parameters ?? null;
  const legacy = json.rope_scaling ?? null;
  const field = params !== null ? "rope_parameters" : "rope_scaling";
  const obj = params ?? legacy;
  if (obj !== null && !isObject(obj)) throw new InputError(`expected an object, got ${JSON.stringify(obj)}`, { file, field });
  if (params !== null && legacy !== null && JSON.stringify(params) !== JSON.stringify(legacy)) {
    // transformers 5 may keep a legacy copy; two different descriptions of RoPE are ambiguous.
    const { rope_theta: _t, ...rest } = params as Json;
    if (JSON.stringify(rest) !== JSON.stringify(legacy)) throw new InputError("rope_scaling and rope_parameters disagree", { file, field: "rope_scaling" });
  }
  const topTheta = json.rope_theta ?? null;
  const innerTheta = obj?.rope_theta ?? null;
  if (topTheta !== null && innerTheta !== null && topTheta !== innerTheta) {
    throw new InputError(`rope_theta ${JSON.stringify(topTheta)} disagrees with ${field}.rope_theta ${JSON.stringify(innerTheta)}`, { file, field: `${field}.rope_theta` });
  }
  const theta = innerTheta !== null ? num(obj!, "rope_theta", file) : num(json, "rope_theta", file, 10000);
  if (!(theta > 0)) throw new InputError(`rope_theta must be positive, got ${theta}`, { file, field: "rope_theta" });
  if (obj === null) return { theta, scaling: null };
  const type = obj.rope_type ?? obj.type ?? "default";
  const sub = (key: string) => `${field}.${key}`;
  const known: Record<string, string[]> = {
    default: [],
    linear: ["factor"],
    llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
  };
  if (typeof type !== "string" || !(type in known)) {
    throw new InputError(`unsupported rope_type ${JSON.stringify(type)} (supported: default, linear, llama3)`, { file, field: sub(obj.rope_type !== undefined ? "rope_type" : "type") });
  }
  const allowed = new Set(["rope_type", "type", "rope_theta", "partial_rotary_factor", ...known[type]!]);
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw new InputError(`parameter not understood for rope_type "${type}"`, { file, field: sub(key) });
  }
  if (obj.partial_rotary_factor !== undefined && obj.partial_rotary_factor !== null && obj.partial_rotary_factor !== 1) {
    throw new InputError(`partial rotary embeddings are not supported (got ${JSON.stringify(obj.partial_rotary_factor)})`, { file, field: sub("partial_rotary_factor") });
  }
  const positive = (key: string): number => {
    if (obj[key] === undefined || obj[key] === null) throw new InputError(`missing for rope_type "${type}"`, { file, field: sub(key) });
    const v = obj[key];
    if (typeof v !== "number" || !(v > 0)) throw new InputError(`expected a positive number, got ${JSON.stringify(v)}`, { file, field: sub(key) });
    return v;
  };
  if (type === "default") return { theta, scaling: null };
  if (type === "linear") return { theta, scaling: { type: "linear", factor: positive("factor") } };
  const scaling: RopeScaling = {
    type: "llama3",
    factor: positive("factor"),
    lowFreqFactor: positive("low_freq_factor"),
    highFreqFactor: positive("high_freq_factor"),
    originalMaxPositionEmbeddings: positive("original_max_position_embeddings"),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    throw new InputError(`high_freq_factor ${scaling.highFreqFactor} must exceed low_freq_factor ${scaling.lowFreqFactor}`, { file, field: sub("high_freq_factor") });
  }
  return { theta, scaling };
}

/**
 * Fields of config.json that change the computation and that this model does not implement:
 * each must be absent or hold the value that means "off". (Fields transformers' Llama/Qwen2/
 * Qwen3 classes do not read, and bookkeeping such as dtype or use_cache, are not checked.)
 */
function rejectUnsupported(json: Json, modelType: ModelType, numLayers: number, file: string): void {
  const bad = (field: string, why: string) => {
    throw new InputError(`${why} (got ${JSON.stringify(json[field])})`, { file, field });
  };
  const set = (field: string) => json[field] !== undefined && json[field] !== null;
  if (set("hidden_act") && json.hidden_act !== "silu") bad("hidden_act", 'only "silu" (SwiGLU) is supported');
  // Llama and Qwen3 put this bias on q, k, v and o; Qwen2 always biases q, k, v (its class has no such flag).
  if (modelType !== "qwen2" && set("attention_bias") && json.attention_bias !== false) bad("attention_bias", `attention biases are not supported for ${modelType}`);
  if (set("mlp_bias") && json.mlp_bias !== false) bad("mlp_bias", "MLP biases are not supported");
  if (set("use_sliding_window") && json.use_sliding_window !== false) bad("use_sliding_window", "sliding-window attention is not supported");
  if (set("layer_types")) {
    const types = json.layer_types;
    if (!Array.isArray(types) || types.some((t) => t !== "full_attention")) bad("layer_types", 'only "full_attention" layers are supported');
    if ((types as unknown[]).length !== numLayers) bad("layer_types", `expected ${numLayers} entries (num_hidden_layers)`);
  }
  if (set("attention_dropout") && json.attention_dropout !== 0) bad("attention_dropout", "attention dropout is not supported");
  if (set("partial_rotary_factor") && json.partial_rotary_factor !== 1) bad("partial_rotary_factor", "partial rotary embeddings are not supported");
  if (set("quantization_config")) bad("quantization_config", "quantized checkpoints are not supported");
  if (set("architectures")) {
    const a = json.architectures;
    if (!Array.isArray(a) || a.length !== 1 || a[0] !== ARCHITECTURES[modelType]) bad("architectures", `expected ["${ARCHITECTURES[modelType]}"] for model_type ${modelType}`);
  }
}

/**
 * Reads an HF `config.json` object (model_type llama, qwen2 or qwen3) in the transformers 4 or 5
 * form. A field that would change the math and is not implemented is an error naming the file
 * and field, never a silent default.
 */
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
  const numLayers = positiveInt(json, "num_hidden_layers", file);
  rejectUnsupported(json, modelType, numLayers, file);
  const rope = ropeFromHF(json, file);
  const eos = json.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === "number") : optionalId(eos) === null ? [] : [eos as number];
  if (json.tie_word_embeddings !== undefined && json.tie_word_embeddings !== null && typeof json.tie_word_embeddings !== "boolean") {
    throw new InputError(`expected true or false, got ${JSON.stringify(json.tie_word_embeddings)}`, { file, field: "tie_word_embeddings" });
  }
  return {
    modelType,
    vocabSize: positiveInt(json, "vocab_size", file),
    hiddenSize,
    intermediateSize: positiveInt(json, "intermediate_size", file),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(json, "rms_norm_eps", file, 1e-6),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    ropeInterleaved: json.fgrpo_rope_interleaved === true,
    maxPositionEmbeddings: positiveInt(json, "max_position_embeddings", file, DEFAULT_MAX_POSITIONS[modelType]),
    // transformers' Llama, Qwen2 and Qwen3 configs all default to an untied head.
    tieWordEmbeddings: json.tie_word_embeddings === true,
    attentionBias: modelType === "qwen2",
    qkNorm: modelType === "qwen3",
    bosTokenId: optionalId(json.bos_token_id),
    eosTokenIds,
    padTokenId: optionalId(json.pad_token_id),
  };
}

/** The HF `config.json` object for a config (interleaved RoPE is converted by the saver first). */
export function configToHF(c: LlamaConfig): Json {
  const out: Json = {
    architectures: [ARCHITECTURES[c.modelType]],
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
    rope_scaling: ropeScalingToHF(c.ropeScaling ?? null),
    max_position_embeddings: c.maxPositionEmbeddings,
    tie_word_embeddings: c.tieWordEmbeddings,
    ...(c.modelType === "qwen2" ? {} : { attention_bias: false }),
    torch_dtype: "float32",
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    pad_token_id: c.padTokenId,
  };
  if (c.ropeInterleaved) out.fgrpo_rope_interleaved = true;
  return out;
}

/** The transformers-4 `rope_scaling` object (which transformers 5 also reads). */
function ropeScalingToHF(s: RopeScaling | null): Json | null {
  if (s === null) return null;
  if (s.type === "linear") return { rope_type: "linear", factor: s.factor };
  return {
    rope_type: "llama3", factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositionEmbeddings,
  };
}

/** Checks the invariants the model code relies on. */
export function validateConfig(c: LlamaConfig): void {
  if (c.numHeads % c.numKvHeads !== 0) throw new RangeError(`numHeads ${c.numHeads} must be a multiple of numKvHeads ${c.numKvHeads}`);
  if (c.headDim % 2 !== 0) throw new RangeError(`headDim ${c.headDim} must be even for RoPE`);
  // Biases exist on q/k/v only as Qwen2 has them; Llama's and Qwen3's attention_bias also biases o_proj.
  if (c.attentionBias !== (c.modelType === "qwen2")) throw new RangeError(`attentionBias must be ${c.modelType === "qwen2"} for ${c.modelType} (q/k/v biases are Qwen2's)`);
  if (c.qkNorm !== (c.modelType === "qwen3")) throw new RangeError(`qkNorm must be ${c.modelType === "qwen3"} for ${c.modelType} (q/k norm is Qwen3's)`);
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
      headDim: 64, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null, ropeInterleaved: false, maxPositionEmbeddings: 2048,
      tieWordEmbeddings: true, attentionBias: false, qkNorm: false, bosTokenId: 1, eosTokenIds: [2], padTokenId: 0,
      ...overrides,
    };
  },
  /** A few-thousand-parameter model for unit tests (2 layers, d 32, GQA 4→2 heads). */
  micro(vocabSize: number, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
    return presets.tiny(vocabSize, { hiddenSize: 32, intermediateSize: 64, numLayers: 2, numKvHeads: 2, headDim: 8, maxPositionEmbeddings: 512, ...overrides });
  },
};
