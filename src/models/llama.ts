/**
 * The Llama-family decoder (Llama, Qwen2, Qwen3) written with the tensor API: RMSNorm, RoPE,
 * grouped-query attention, SwiGLU MLP, optional q/k RMSNorm (Qwen3) and q/k/v biases (Qwen2),
 * tied or untied head. Parameters live in a Map under Hugging Face names
 * ("model.layers.0.self_attn.q_proj.weight", …), so loading and saving HF checkpoints is a copy.
 */
import * as T from "../torch/index.js";
import { Rope } from "../nn/rope.js";
import { groupedAttention, paddedCausalMask } from "../nn/attention.js";
import { LoraAdapters, type LoraConfig, type LoraLinear, type LoraTarget } from "../nn/lora.js";
import { validateConfig, type LlamaConfig } from "./config.js";
import type { KVStore } from "./kv-cache.js";

export interface ForwardOptions {
  /** int64 [B, T] positions of the tokens; default 0…T−1 after the store's cached tokens. */
  positions?: T.Tensor;
  /**
   * bool [B, Lpast + T]: true where a key is a real token (cached keys first, then this block's).
   * Null or absent: no padding anywhere (plain causal attention). A store that attends itself
   * (KVStore.attend) applies its own masks instead.
   */
  keyMask?: T.Tensor | null;
  /** Where past keys/values come from and new ones go. */
  cache?: KVStore;
  /** Tokens already in the cache (needed only for default positions). */
  pastLength?: number;
  /** Compute logits for the last position only ([B, 1, V]): prefill needs no more. */
  lastOnly?: boolean;
  /**
   * Return the final-normed hidden states [B, T, d] instead of logits; `logits(hidden)` maps any
   * selection of them to logits (teacher forcing then pays for the head only where it is needed).
   */
  hiddenOnly?: boolean;
  /** A snapshot from inferenceWeights(): fused, pre-transposed matrices (no autograd). */
  fused?: FusedWeights;
  /**
   * Training-time dropout probability on the token embeddings and on each residual branch's
   * output before it is added (SASRec's placement); 0 or absent = none (inference, scoring).
   */
  dropout?: number;
}

/**
 * Inference-time copies of the weights: q/k/v fused into one matrix and gate/up into another,
 * all stored transposed ([in, out]) so x·W is a plain GEMM (OpenBLAS runs skinny products with a
 * transposed operand several times slower, measured in bench/generate). A snapshot: rebuild it
 * after the parameters change.
 */
export interface FusedWeights {
  layers: { qkv: T.Tensor; qkvBias: T.Tensor | null; o: T.Tensor; gateUp: T.Tensor; down: T.Tensor }[];
  head: T.Tensor;
  dispose(): void;
}

/** The expected shape of every parameter, by HF name. */
export function parameterShapes(c: LlamaConfig): Map<string, number[]> {
  const d = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const shapes = new Map<string, number[]>([["model.embed_tokens.weight", [c.vocabSize, d]]]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    shapes.set(p + "input_layernorm.weight", [d]);
    shapes.set(p + "self_attn.q_proj.weight", [qd, d]);
    shapes.set(p + "self_attn.k_proj.weight", [kvd, d]);
    shapes.set(p + "self_attn.v_proj.weight", [kvd, d]);
    if (c.attentionBias) {
      shapes.set(p + "self_attn.q_proj.bias", [qd]);
      shapes.set(p + "self_attn.k_proj.bias", [kvd]);
      shapes.set(p + "self_attn.v_proj.bias", [kvd]);
    }
    if (c.qkNorm) {
      shapes.set(p + "self_attn.q_norm.weight", [c.headDim]);
      shapes.set(p + "self_attn.k_norm.weight", [c.headDim]);
    }
    shapes.set(p + "self_attn.o_proj.weight", [d, qd]);
    shapes.set(p + "post_attention_layernorm.weight", [d]);
    shapes.set(p + "mlp.gate_proj.weight", [c.intermediateSize, d]);
    shapes.set(p + "mlp.up_proj.weight", [c.intermediateSize, d]);
    shapes.set(p + "mlp.down_proj.weight", [d, c.intermediateSize]);
  }
  shapes.set("model.norm.weight", [d]);
  if (!c.tieWordEmbeddings) shapes.set("lm_head.weight", [c.vocabSize, d]);
  return shapes;
}

/** One layer's parameters, looked up once so the forward does no string work. */
interface LayerParams {
  inNorm: T.Tensor; q: T.Tensor; k: T.Tensor; v: T.Tensor; o: T.Tensor;
  qb: T.Tensor | null; kb: T.Tensor | null; vb: T.Tensor | null;
  qNorm: T.Tensor | null; kNorm: T.Tensor | null;
  postNorm: T.Tensor; gate: T.Tensor; up: T.Tensor; down: T.Tensor;
  /** The layer's LoRA adapters by projection (empty without adapters). */
  lora: Partial<Record<LoraTarget, LoraLinear>>;
}

/** The module path of a projection in layer l ("model.layers.3.self_attn.q_proj"). */
export function projectionPath(l: number, target: LoraTarget): string {
  const block = target === "gate_proj" || target === "up_proj" || target === "down_proj" ? "mlp" : "self_attn";
  return `model.layers.${l}.${block}.${target}`;
}

const WEIGHT_OF: Record<LoraTarget, "q" | "k" | "v" | "o" | "gate" | "up" | "down"> = {
  q_proj: "q", k_proj: "k", v_proj: "v", o_proj: "o", gate_proj: "gate", up_proj: "up", down_proj: "down",
};

/** Dropout with probability `p` (ForwardOptions.dropout), the identity when `p` is 0. */
function trainingDropout(y: T.Tensor, p: number): T.Tensor {
  return p > 0 ? T.dropout(y, p, true) : y;
}

export class LlamaModel {
  readonly rope: Rope;
  private readonly layers: LayerParams[];
  #lora: LoraAdapters | null = null;
  /**
   * Recompute each decoder layer's forward in backward instead of keeping its intermediates
   * (T.checkpoint), when gradients are recorded: memory for activations drops to one hidden
   * state per layer, for the price of a second forward. CPU only.
   */
  gradientCheckpointing = false;

  /** Takes ownership of `params` (validated against the config's shapes). */
  constructor(
    readonly config: LlamaConfig,
    readonly params: Map<string, T.Tensor>,
  ) {
    validateConfig(config);
    const expected = parameterShapes(config);
    for (const [name, shape] of expected) {
      const t = params.get(name);
      if (!t) throw new RangeError(`missing parameter ${name}`);
      if (t.shape.join(",") !== shape.join(",")) throw new RangeError(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    for (const name of params.keys()) if (!expected.has(name)) throw new RangeError(`unexpected parameter ${name}`);
    this.rope = new Rope(config.headDim, config.ropeTheta, config.ropeInterleaved, config.maxPositionEmbeddings, config.ropeScaling ?? null);
    const g = (n: string) => params.get(n)!;
    const o = (n: string) => params.get(n) ?? null;
    this.layers = Array.from({ length: config.numLayers }, (_, l) => {
      const p = `model.layers.${l}.`;
      return {
        inNorm: g(p + "input_layernorm.weight"),
        q: g(p + "self_attn.q_proj.weight"), k: g(p + "self_attn.k_proj.weight"), v: g(p + "self_attn.v_proj.weight"),
        o: g(p + "self_attn.o_proj.weight"),
        qb: o(p + "self_attn.q_proj.bias"), kb: o(p + "self_attn.k_proj.bias"), vb: o(p + "self_attn.v_proj.bias"),
        qNorm: o(p + "self_attn.q_norm.weight"), kNorm: o(p + "self_attn.k_norm.weight"),
        postNorm: g(p + "post_attention_layernorm.weight"),
        gate: g(p + "mlp.gate_proj.weight"), up: g(p + "mlp.up_proj.weight"), down: g(p + "mlp.down_proj.weight"),
        lora: {},
      };
    });
  }

  /**
   * A freshly initialised model, seeded by T.manualSeed: weights N(0, 0.02) (HF's
   * initializer_range), output projections of each residual branch scaled by 1/√(2·layers)
   * (GPT-2), norms 1, biases 0. Parameters require gradients.
   */
  static init(config: LlamaConfig): LlamaModel {
    const residualStd = 0.02 / Math.sqrt(2 * config.numLayers);
    const params = new Map<string, T.Tensor>();
    T.noGrad(() => {
      for (const [name, shape] of parameterShapes(config)) {
        let t: T.Tensor;
        if (name.endsWith("norm.weight")) t = T.ones(shape);
        else if (name.endsWith(".bias")) t = T.zeros(shape);
        // Scaled in place: no temporary copy of each matrix (the embedding of a 150k vocabulary is 0.6 GB).
        else if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) t = T.randn(shape).mul_(residualStd);
        else t = T.randn(shape).mul_(0.02);
        params.set(name, T.keep(t).requiresGrad_());
      }
    });
    return new LlamaModel(config, params);
  }

  /** The output head's weight (the embedding when tied). */
  get headWeight(): T.Tensor {
    return this.params.get(this.config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight")!;
  }

  get device(): string {
    return this.headWeight.device;
  }

  /** The attached LoRA adapters, or null. */
  get lora(): LoraAdapters | null {
    return this.#lora;
  }

  /**
   * New LoRA adapters on the configured projections of every layer (seeded by T.manualSeed);
   * the base weights are frozen (they no longer require gradients).
   */
  addLora(config: LoraConfig): LoraAdapters {
    const shapes = parameterShapes(this.config);
    const modules = new Map<string, readonly number[]>();
    for (let l = 0; l < this.config.numLayers; l++) {
      for (const t of config.targetModules) modules.set(projectionPath(l, t), shapes.get(projectionPath(l, t) + ".weight")!);
    }
    const adapters = LoraAdapters.init(config, modules, { device: this.device, dtype: this.headWeight.dtype });
    this.attachLora(adapters);
    return adapters;
  }

  /** Attaches adapters (their modules must be projections of this model) and freezes the base weights. */
  attachLora(adapters: LoraAdapters): void {
    if (this.#lora) throw new Error("this model already has LoRA adapters");
    const shapes = parameterShapes(this.config);
    const byPath = new Map<string, [number, LoraTarget]>();
    for (let l = 0; l < this.config.numLayers; l++) for (const t of Object.keys(WEIGHT_OF) as LoraTarget[]) byPath.set(projectionPath(l, t), [l, t]);
    for (const [path, m] of adapters.modules) {
      const at = byPath.get(path);
      if (!at) throw new RangeError(`LoRA module ${path} is not a projection of this model`);
      const [out, inF] = shapes.get(path + ".weight")!;
      const r = adapters.config.r;
      if (m.A.shape.join() !== `${r},${inF}` || m.B.shape.join() !== `${out},${r}`) {
        throw new RangeError(`LoRA module ${path}: A [${m.A.shape}] and B [${m.B.shape}] do not fit the weight [${out}, ${inF}] with rank ${r}`);
      }
    }
    for (const [path, m] of adapters.modules) {
      const [l, t] = byPath.get(path)!;
      this.layers[l]!.lora[t] = m;
    }
    for (const p of this.params.values()) p.requiresGrad_(false);
    this.#lora = adapters;
  }

  /** Runs fn on the base model (the adapters switched off; a no-op without adapters). */
  withoutAdapters<R>(fn: () => R): R {
    return this.#lora ? this.#lora.disabled(fn) : fn();
  }

  /** What the optimizer trains: the adapters' matrices with LoRA, else every parameter. */
  trainableParameters(): Map<string, T.Tensor> {
    return this.#lora ? this.#lora.parameters() : this.params;
  }

  /** The weight a projection computes with: W, or W + scaling·B·A while adapters are on (new tensor then). */
  private effectiveWeight(p: LayerParams, t: LoraTarget): T.Tensor {
    const w = p[WEIGHT_OF[t]];
    const a = this.#lora?.enabled ? p.lora[t] : undefined;
    return a ? w.add(a.weightDelta()) : w;
  }

  /**
   * Runs fn on a model whose projections are the merged weights W + scaling·B·A (PEFT's
   * merge_and_unload, as a copy: this model and its adapters stay as they are). Without
   * adapters (or with them disabled) fn gets this model. The merged tensors are freed after fn.
   */
  withMergedAdapters<R>(fn: (merged: LlamaModel) => R): R {
    if (!this.#lora?.enabled) return fn(this);
    const merged = new Map(this.params);
    const owned: T.Tensor[] = [];
    T.noGrad(() => {
      this.layers.forEach((p, l) => {
        for (const t of Object.keys(p.lora) as LoraTarget[]) {
          const w = T.keep(T.tidy(() => this.effectiveWeight(p, t)));
          owned.push(w);
          merged.set(projectionPath(l, t) + ".weight", w);
        }
      });
    });
    const model = new LlamaModel(this.config, merged);
    try {
      return fn(model);
    } finally {
      model.rope.dispose();
      for (const w of owned) w.dispose();
    }
  }

  /**
   * Builds a FusedWeights snapshot of the current parameters (dispose it when done). With
   * adapters on, the projections are merged (W + scaling·B·A): decoding then costs what the
   * base model does.
   */
  inferenceWeights(): FusedWeights {
    // Every intermediate (the cat copies, the transposed views) is freed by the tidy.
    return T.tidy(() => T.noGrad(() => {
      const tr = (w: T.Tensor) => T.keep(w.T.contiguous());
      // One layer at a time, so only one layer's temporary copies exist at once (a 0.6B model's
      // merged, concatenated and transposed copies of all layers would be ~5 GB at once).
      const layers = this.layers.map((p) => T.tidy(() => {
        const w = (t: LoraTarget) => this.effectiveWeight(p, t);
        return {
          qkv: tr(T.cat([w("q_proj"), w("k_proj"), w("v_proj")], 0)),
          qkvBias: p.qb && p.kb && p.vb ? T.keep(T.cat([p.qb, p.kb, p.vb], 0)) : null,
          o: tr(w("o_proj")),
          gateUp: tr(T.cat([w("gate_proj"), w("up_proj")], 0)),
          down: tr(w("down_proj")),
        };
      }));
      const head = tr(this.headWeight);
      return {
        layers,
        head,
        dispose() {
          for (const l of layers) for (const t of [l.qkv, l.qkvBias, l.o, l.gateUp, l.down]) t?.dispose();
          head.dispose();
        },
      };
    }));
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly) for token ids [B, T]. */
  forward(ids: T.Tensor, opts: ForwardOptions = {}): T.Tensor {
    const c = this.config;
    const [b, t] = ids.shape as [number, number];
    const positions = opts.positions ?? T.arange(opts.pastLength ?? 0, (opts.pastLength ?? 0) + t, 1, { device: ids.device }).unsqueeze(0).expand(b, t);
    const maxPosition = opts.positions ? positions.max().item() : (opts.pastLength ?? 0) + t - 1;
    const rot = this.rope.tables(positions, maxPosition, ids.device, this.headWeight.dtype);
    const mask = paddedCausalMask(opts.keyMask ?? null, t);
    const dropP = opts.dropout ?? 0;
    let x = trainingDropout(T.embedding(this.params.get("model.embed_tokens.weight")!, ids), dropP);
    const fused = opts.fused;
    // Adapter dropout acts in training forwards (those that record gradients), decided here
    // so that a checkpointed layer's recomputation (which always records) decides alike.
    const train = T.isGradEnabled();
    const checkpointed = this.gradientCheckpointing && train && !fused && (!opts.cache || opts.cache.checkpointed !== undefined);
    for (let l = 0; l < c.numLayers; l++) {
      const input = x;
      // Each layer in its own scope: its intermediates are freed as soon as it is done (autograd
      // keeps what backward needs by itself), instead of all layers' piling up until the caller's
      // scope closes (~4 GB for a 1k-token prefill of a 0.6B model).
      [x] = T.tidy(() => [
        checkpointed ? this.checkpointedLayer(l, input, rot, mask, opts.cache, train, dropP) : this.layer(l, input, rot, mask, opts.cache, fused?.layers[l], train, dropP),
        ...(opts.cache?.retained?.(l) ?? []),
      ]) as [T.Tensor, ...T.Tensor[]];
    }
    opts.cache?.advance(t);
    if (opts.lastOnly && t > 1) x = x.narrow(1, t - 1, 1);
    const normed = T.rmsNorm(x, this.params.get("model.norm.weight")!, c.rmsNormEps);
    if (opts.hiddenOnly) return normed;
    return fused ? normed.matmul(fused.head) : T.linear(normed, this.headWeight);
  }

  /** Decoder layer l: attention then MLP, each a residual branch after its RMSNorm. */
  private layer(l: number, x: T.Tensor, rot: { cos: T.Tensor; sin: T.Tensor }, mask: T.Tensor | null, cache: KVStore | undefined, f: FusedWeights["layers"][number] | undefined, train: boolean, dropP = 0): T.Tensor {
    const c = this.config;
    // Residual-branch dropout (ForwardOptions.dropout).
    const drop = (y: T.Tensor) => trainingDropout(y, dropP);
    const [b, t] = x.shape as [number, number];
    const p = this.layers[l]!;
    const lora = this.#lora?.enabled ? p.lora : {};
    // A projection with its adapter's update added, when it has one.
    const proj = (h: T.Tensor, target: LoraTarget, w: T.Tensor, bias: T.Tensor | null = null) => {
      const y = T.linear(h, w, bias);
      const a = lora[target];
      return a ? y.add(a.delta(h, train)) : y;
    };
    const h = T.rmsNorm(x, p.inNorm, c.rmsNormEps);
    let q: T.Tensor, k: T.Tensor, v: T.Tensor;
    if (f) {
      const qkv = f.qkvBias ? h.matmul(f.qkv).add(f.qkvBias) : h.matmul(f.qkv);
      const all = qkv.view(b, t, c.numHeads + 2 * c.numKvHeads, c.headDim);
      q = all.narrow(2, 0, c.numHeads);
      k = all.narrow(2, c.numHeads, c.numKvHeads);
      v = all.narrow(2, c.numHeads + c.numKvHeads, c.numKvHeads).transpose(1, 2);
    } else {
      q = proj(h, "q_proj", p.q, p.qb).view(b, t, c.numHeads, c.headDim);
      k = proj(h, "k_proj", p.k, p.kb).view(b, t, c.numKvHeads, c.headDim);
      v = proj(h, "v_proj", p.v, p.vb).view(b, t, c.numKvHeads, c.headDim).transpose(1, 2);
    }
    if (p.qNorm) q = T.rmsNorm(q, p.qNorm, c.rmsNormEps);
    if (p.kNorm) k = T.rmsNorm(k, p.kNorm, c.rmsNormEps);
    q = this.rope.apply(q.transpose(1, 2), rot);
    k = this.rope.apply(k.transpose(1, 2), rot);
    const [keys, values] = cache ? cache.append(l, k, v) : [k, v];
    const attended = cache?.attend ? cache.attend(l, q, keys, values) : groupedAttention(q, keys, values, mask);
    const y = attended.transpose(1, 2).reshape(b, t, c.numHeads * c.headDim);
    x = x.add(drop(f ? y.matmul(f.o) : proj(y, "o_proj", p.o)));
    const h2 = T.rmsNorm(x, p.postNorm, c.rmsNormEps);
    if (f) {
      const gu = h2.matmul(f.gateUp);
      return x.add(drop(T.siluMul(gu.narrow(2, 0, c.intermediateSize), gu.narrow(2, c.intermediateSize, c.intermediateSize)).matmul(f.down)));
    }
    return x.add(drop(proj(T.siluMul(proj(h2, "gate_proj", p.gate), proj(h2, "up_proj", p.up)), "down_proj", p.down)));
  }

  /**
   * Layer l under T.checkpoint. Everything the recomputation reads that is not a parameter
   * (RoPE tables, mask, a store's past keys/values) is a checkpoint input, kept alive by it;
   * keys/values a recording store keeps are checkpoint outputs, so gradients reach them.
   */
  private checkpointedLayer(l: number, x: T.Tensor, rot: { cos: T.Tensor; sin: T.Tensor }, mask: T.Tensor | null, cache: KVStore | undefined, train: boolean, dropP: number): T.Tensor {
    const form = cache?.checkpointed;
    const past = form?.past(l) ?? null;
    const records = form?.records ?? false;
    const inputs = [x, rot.cos, rot.sin, ...(mask ? [mask] : []), ...(past ? [past.keys, past.values, past.rows] : [])];
    const outs = T.checkpoint((ins) => {
      const [xi, cos, sin] = ins as [T.Tensor, T.Tensor, T.Tensor];
      const m = mask ? ins[3]! : null;
      const [pk, pv, rows] = past ? ins.slice(-3) : [];
      const kept: T.Tensor[] = [];
      const store: KVStore = {
        append: (_layer, k, v) => {
          if (records) kept.push(k, v);
          return pk && pv && rows ? [T.cat([pk.indexSelect(0, rows), k], 2), T.cat([pv.indexSelect(0, rows), v], 2)] : [k, v];
        },
        advance() {},
      };
      return [this.layer(l, xi, { cos, sin }, m, store, undefined, train, dropP), ...kept];
    }, inputs);
    if (records) cache!.append(l, outs[1]!, outs[2]!);
    return outs[0]!;
  }

  /** Logits [..., V] of final-normed hidden states [..., d] (see ForwardOptions.hiddenOnly). */
  logits(hidden: T.Tensor): T.Tensor {
    return T.linear(hidden, this.headWeight);
  }

  /** Parameters to train (every tensor in params; a tied head is the embedding). */
  parameters(): Map<string, T.Tensor> {
    return this.params;
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.#lora?.dispose();
    this.rope.dispose();
  }
}
