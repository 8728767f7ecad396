/**
 * The Llama-family decoder (Llama, Qwen2, Qwen3) written with the tensor API: RMSNorm, RoPE,
 * grouped-query attention, SwiGLU MLP, optional q/k RMSNorm (Qwen3) and q/k/v biases (Qwen2),
 * tied or untied head. Parameters live in a Map under Hugging Face names
 * ("model.layers.0.self_attn.q_proj.weight", …), so loading and saving HF checkpoints is a copy.
 */
import * as T from "../torch/index.js";
import { Rope } from "../nn/rope.js";
import { groupedAttention, paddedCausalMask } from "../nn/attention.js";
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
}

export class LlamaModel {
  readonly rope: Rope;
  private readonly layers: LayerParams[];

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
        else if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) t = T.randn(shape).mul(residualStd);
        else t = T.randn(shape).mul(0.02);
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

  /** Builds a FusedWeights snapshot of the current parameters (dispose it when done). */
  inferenceWeights(): FusedWeights {
    // Every intermediate (the cat copies, the transposed views) is freed by the tidy.
    return T.tidy(() => T.noGrad(() => {
      const tr = (w: T.Tensor) => T.keep(w.T.contiguous());
      const layers = this.layers.map((p) => ({
        qkv: tr(T.cat([p.q, p.k, p.v], 0)),
        qkvBias: p.qb && p.kb && p.vb ? T.keep(T.cat([p.qb, p.kb, p.vb], 0)) : null,
        o: tr(p.o),
        gateUp: tr(T.cat([p.gate, p.up], 0)),
        down: tr(p.down),
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
    let x = T.embedding(this.params.get("model.embed_tokens.weight")!, ids);
    const fused = opts.fused;
    for (let l = 0; l < c.numLayers; l++) {
      const p = this.layers[l]!;
      const f = fused?.layers[l];
      const h = T.rmsNorm(x, p.inNorm, c.rmsNormEps);
      let q: T.Tensor, k: T.Tensor, v: T.Tensor;
      if (f) {
        const qkv = f.qkvBias ? h.matmul(f.qkv).add(f.qkvBias) : h.matmul(f.qkv);
        const all = qkv.view(b, t, c.numHeads + 2 * c.numKvHeads, c.headDim);
        q = all.narrow(2, 0, c.numHeads);
        k = all.narrow(2, c.numHeads, c.numKvHeads);
        v = all.narrow(2, c.numHeads + c.numKvHeads, c.numKvHeads).transpose(1, 2);
      } else {
        q = T.linear(h, p.q, p.qb).view(b, t, c.numHeads, c.headDim);
        k = T.linear(h, p.k, p.kb).view(b, t, c.numKvHeads, c.headDim);
        v = T.linear(h, p.v, p.vb).view(b, t, c.numKvHeads, c.headDim).transpose(1, 2);
      }
      if (p.qNorm) q = T.rmsNorm(q, p.qNorm, c.rmsNormEps);
      if (p.kNorm) k = T.rmsNorm(k, p.kNorm, c.rmsNormEps);
      q = this.rope.apply(q.transpose(1, 2), rot);
      k = this.rope.apply(k.transpose(1, 2), rot);
      const [keys, values] = opts.cache ? opts.cache.append(l, k, v) : [k, v];
      const attended = opts.cache?.attend ? opts.cache.attend(l, q, keys, values) : groupedAttention(q, keys, values, mask);
      const y = attended.transpose(1, 2).reshape(b, t, c.numHeads * c.headDim);
      x = x.add(f ? y.matmul(f.o) : T.linear(y, p.o));
      const h2 = T.rmsNorm(x, p.postNorm, c.rmsNormEps);
      if (f) {
        const gu = h2.matmul(f.gateUp);
        x = x.add(T.siluMul(gu.narrow(2, 0, c.intermediateSize), gu.narrow(2, c.intermediateSize, c.intermediateSize)).matmul(f.down));
      } else {
        x = x.add(T.linear(T.siluMul(T.linear(h2, p.gate), T.linear(h2, p.up)), p.down));
      }
    }
    opts.cache?.advance(t);
    if (opts.lastOnly && t > 1) x = x.narrow(1, t - 1, 1);
    const normed = T.rmsNorm(x, this.params.get("model.norm.weight")!, c.rmsNormEps);
    if (opts.hiddenOnly) return normed;
    return fused ? normed.matmul(fused.head) : T.linear(normed, this.headWeight);
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
    this.rope.dispose();
  }
}
