/**
 * LoRA (Hu et al. 2021) as Hugging Face PEFT implements it: a frozen projection y = x·Wᵀ gains
 * a trainable low-rank update scaling·B·A, so y = x·Wᵀ + scaling · (dropout(x)·Aᵀ)·Bᵀ with
 * A [r, in], B [out, r] and scaling = alpha / r. A starts kaiming-uniform (PEFT's
 * `kaiming_uniform_(a=√5)`, i.e. U(−1/√in, 1/√in)) and B at zero, so a new adapter leaves the
 * model's outputs unchanged.
 *
 * Adapters are named as PEFT saves them ("base_model.model.<module>.lora_A.weight"), which is
 * also the name the optimizer and the trainer's checkpoints use.
 */
import * as T from "../torch/index.js";

/** The projections of a Llama-family decoder layer an adapter can sit on (PEFT's names). */
export const LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  /** Rank r of the update. */
  r: number;
  /** lora_alpha; the update is scaled by alpha / r. */
  alpha: number;
  /** Dropout on the adapter's input during training (0 = none). */
  dropout: number;
  /** Projection names that get an adapter (a subset of LORA_TARGETS). */
  targetModules: LoraTarget[];
}

/** PEFT's key of a module's adapter matrix in adapter_model.safetensors. */
export function peftKey(module: string, which: "A" | "B"): string {
  return `base_model.model.${module}.lora_${which}.weight`;
}

/** One projection's adapter. */
export class LoraLinear {
  constructor(
    /** [r, in] */
    readonly A: T.Tensor,
    /** [out, r] */
    readonly B: T.Tensor,
    readonly scaling: number,
    readonly dropout: number,
  ) {}

  /** scaling · (dropout(x)·Aᵀ)·Bᵀ for x [..., in]; dropout acts only when `train`. */
  delta(x: T.Tensor, train: boolean): T.Tensor {
    const input = this.dropout > 0 && train ? T.dropout(x, this.dropout, true) : x;
    return T.linear(T.linear(input, this.A), this.B).mul(this.scaling);
  }

  /** The update as a weight, scaling · B·A [out, in] (what merging adds to W). */
  weightDelta(): T.Tensor {
    return this.B.matmul(this.A).mul(this.scaling);
  }
}

/** The adapters of a model, by module path ("model.layers.0.self_attn.q_proj"). */
export class LoraAdapters {
  /** False inside disabled(): the model then computes with its base weights only. */
  enabled = true;

  constructor(
    readonly config: LoraConfig,
    readonly modules: Map<string, LoraLinear>,
  ) {}

  /**
   * New adapters for the given modules and their weights' shapes [out, in], seeded by
   * T.manualSeed, on the device and in the dtype of `like`. Their matrices require gradients.
   */
  static init(config: LoraConfig, shapes: Map<string, readonly number[]>, like: { device: string; dtype: T.DType }): LoraAdapters {
    validateLoraConfig(config);
    const modules = new Map<string, LoraLinear>();
    T.noGrad(() => {
      for (const [module, [out, inF]] of shapes) {
        const bound = 1 / Math.sqrt(inF!);
        const a = T.tidy(() => T.rand([config.r, inF!], { dtype: like.dtype, device: like.device }).mul(2 * bound).sub(bound));
        const b = T.zeros([out!, config.r], { dtype: like.dtype, device: like.device });
        modules.set(module, new LoraLinear(T.keep(a).requiresGrad_(), T.keep(b).requiresGrad_(), config.alpha / config.r, config.dropout));
      }
    });
    return new LoraAdapters(config, modules);
  }

  /** Adapters from PEFT-named tensors (as in adapter_model.safetensors); takes ownership. */
  static fromTensors(config: LoraConfig, modules: readonly string[], tensors: Map<string, T.Tensor>): LoraAdapters {
    validateLoraConfig(config);
    const out = new Map<string, LoraLinear>();
    for (const m of modules) {
      const a = tensors.get(peftKey(m, "A"));
      const b = tensors.get(peftKey(m, "B"));
      if (!a || !b) throw new RangeError(`adapter weights lack ${peftKey(m, a ? "B" : "A")}`);
      out.set(m, new LoraLinear(a.requiresGrad_(), b.requiresGrad_(), config.alpha / config.r, config.dropout));
    }
    return new LoraAdapters(config, out);
  }

  /** The trainable matrices under their PEFT names. */
  parameters(): Map<string, T.Tensor> {
    const p = new Map<string, T.Tensor>();
    for (const [m, l] of this.modules) {
      p.set(peftKey(m, "A"), l.A);
      p.set(peftKey(m, "B"), l.B);
    }
    return p;
  }

  /** Runs fn with the adapters switched off (PEFT's `disable_adapter()` context). */
  disabled<R>(fn: () => R): R {
    const previous = this.enabled;
    this.enabled = false;
    try {
      return fn();
    } finally {
      this.enabled = previous;
    }
  }

  dispose(): void {
    for (const l of this.modules.values()) {
      l.A.dispose();
      l.B.dispose();
    }
  }
}

export function validateLoraConfig(c: LoraConfig): void {
  if (!Number.isInteger(c.r) || c.r <= 0) throw new RangeError(`lora.r must be a positive integer, got ${c.r}`);
  if (!(c.alpha > 0)) throw new RangeError(`lora.alpha must be positive, got ${c.alpha}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`lora.dropout must be in [0, 1), got ${c.dropout}`);
  if (c.targetModules.length === 0) throw new RangeError("lora.target_modules is empty");
  for (const t of c.targetModules) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new RangeError(`lora.target_modules: unknown module "${t}" (expected some of ${LORA_TARGETS.join(", ")})`);
  }
}
