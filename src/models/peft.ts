/**
 * LoRA adapters in Hugging Face PEFT's folder format, which `PeftModel.from_pretrained(base,
 * folder)` loads:
 *
 *   adapter_config.json         LoraConfig fields (peft_type "LORA", r, lora_alpha, lora_dropout,
 *                               target_modules, bias "none", task_type "CAUSAL_LM", …)
 *   adapter_model.safetensors   base_model.model.<module>.lora_A.weight [r, in] and
 *                               base_model.model.<module>.lora_B.weight [out, r]
 *
 * (the adapter name "default" is not part of saved keys, as in PEFT's save_pretrained).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as T from "../torch/index.js";
import { LORA_TARGETS, LoraAdapters, type LoraConfig, type LoraTarget } from "../nn/lora.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { InputError } from "../util/errors.js";
import { readJsonFile } from "../util/json-file.js";
import { projectionPath, type LlamaModel } from "./llama.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

/** Whether a folder holds a PEFT adapter. */
export function isAdapterFolder(folder: string): boolean {
  return existsSync(join(folder, ADAPTER_CONFIG));
}

/**
 * Writes the model's adapters into `folder` (created beforehand). `baseModel` is recorded as
 * base_model_name_or_path (the folder or hub id of the base weights). Weights are float32.
 */
export function saveAdapter(folder: string, model: LlamaModel, baseModel: string | null): void {
  const lora = model.lora;
  if (!lora) throw new Error("saveAdapter: the model has no LoRA adapters");
  // PEFT's LoRA layers assume HF's rotate-half q/k layout; an interleaved model would need its
  // q/k rows permuted (as saveHfCheckpoint does for full weights).
  if (model.config.ropeInterleaved) throw new Error("saveAdapter: a model with interleaved RoPE (llama2.c layout) cannot be saved as a PEFT adapter; save the merged model instead");
  T.tidy(() =>
    T.noGrad(() => {
      const out = new Map<string, T.Tensor>();
      for (const [name, t] of lora.parameters()) out.set(name, t.detach().toDevice("cpu").to("float32").contiguous());
      T.saveSafetensors(join(folder, ADAPTER_WEIGHTS), out, { format: "pt" });
    }),
  );
  const c = lora.config;
  const config = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel,
    revision: null,
    inference_mode: true,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: c.targetModules,
    bias: "none",
    fan_in_fan_out: false,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  writeFileAtomic(join(folder, ADAPTER_CONFIG), JSON.stringify(config, null, 2) + "\n");
}

/** Reads adapter_config.json; a value this implementation does not compute is an error naming its field. */
export function readAdapterConfig(folder: string): LoraConfig & { baseModel: string | null } {
  const file = join(folder, ADAPTER_CONFIG);
  const json = readJsonFile(file) as Record<string, unknown>;
  const fail = (field: string, msg: string): never => {
    throw new InputError(msg, { file, field });
  };
  if (json.peft_type !== "LORA") fail("peft_type", `expected "LORA", got ${JSON.stringify(json.peft_type)}`);
  const r = json.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r <= 0) fail("r", `expected a positive integer, got ${JSON.stringify(r)}`);
  const alpha = json.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !(alpha > 0)) fail("lora_alpha", `expected a positive number, got ${JSON.stringify(alpha)}`);
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) fail("lora_dropout", `expected a number in [0, 1), got ${JSON.stringify(dropout)}`);
  let targets = json.target_modules;
  if (typeof targets === "string") targets = targets === "all-linear" ? [...LORA_TARGETS] : [targets];
  if (!Array.isArray(targets) || targets.length === 0) fail("target_modules", `expected a list of module names, got ${JSON.stringify(json.target_modules)}`);
  for (const t of targets as unknown[]) {
    if (!(LORA_TARGETS as readonly unknown[]).includes(t)) fail("target_modules", `unsupported module ${JSON.stringify(t)} (supported: ${LORA_TARGETS.join(", ")})`);
  }
  // Fields that change what the adapter computes and are not implemented here.
  if ((json.bias ?? "none") !== "none") fail("bias", `only "none" is supported, got ${JSON.stringify(json.bias)}`);
  for (const flag of ["use_rslora", "use_dora", "fan_in_fan_out"]) if (json[flag] === true) fail(flag, "is not supported");
  for (const field of ["rank_pattern", "alpha_pattern"]) {
    const v = json[field];
    if (v !== undefined && v !== null && Object.keys(v as object).length > 0) fail(field, "per-module ranks or alphas are not supported");
  }
  for (const field of ["layers_to_transform", "modules_to_save"]) {
    if (json[field] !== undefined && json[field] !== null) fail(field, "is not supported (adapters on every layer, no extra trained modules)");
  }
  const base = json.base_model_name_or_path;
  return { r: r as number, alpha: alpha as number, dropout: dropout as number, targetModules: targets as LoraTarget[], baseModel: typeof base === "string" ? base : null };
}

/**
 * Loads a PEFT LoRA folder onto `model` (which must have no adapters yet): its adapters are
 * attached and the base weights frozen. Every expected key must be present with its shape, and
 * no other key may be.
 */
export function loadAdapter(folder: string, model: LlamaModel): LoraAdapters {
  const config = readAdapterConfig(folder);
  const file = join(folder, ADAPTER_WEIGHTS);
  if (!existsSync(file)) throw new InputError(`${ADAPTER_WEIGHTS} is missing`, { file: folder });
  const { tensors } = T.loadSafetensors(file, model.device);
  const modules: string[] = [];
  for (let l = 0; l < model.config.numLayers; l++) for (const t of config.targetModules) modules.push(projectionPath(l, t));
  const expected = new Set(modules.flatMap((m) => [`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`]));
  const dtype = model.headWeight.dtype;
  const owned = new Map<string, T.Tensor>();
  try {
    for (const [name, t] of tensors) {
      if (!expected.has(name)) throw new InputError(`unexpected tensor ${name} (not an adapter of target_modules ${config.targetModules.join(", ")} in a ${model.config.numLayers}-layer model)`, { file });
      owned.set(name, T.keep(T.noGrad(() => (t.dtype === dtype ? t : t.to(dtype)))));
    }
    for (const name of expected) if (!owned.has(name)) throw new InputError(`tensor ${name} is missing`, { file });
    const adapters = LoraAdapters.fromTensors(config, modules, owned);
    try {
      model.attachLora(adapters);
    } catch (e) {
      throw new InputError((e as Error).message, { file });
    }
    return adapters;
  } catch (e) {
    for (const t of owned.values()) t.dispose();
    throw e;
  } finally {
    const kept = new Set(owned.values());
    for (const t of tensors.values()) if (!kept.has(t)) t.dispose();
  }
}
