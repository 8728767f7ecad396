/**
 * The reference GPT of ARCHITECTURE.md (vocab 512, 4 layers, d_model 256, 4 heads, T 128, B 8,
 * tied head, GPT-2 blocks), written directly with the tensor API so the engine can be measured
 * on its own, and its policy-gradient train step.
 */
import * as T from "../src/torch/index.js";

export interface GptConfig {
  vocab: number;
  layers: number;
  dModel: number;
  heads: number;
  seq: number;
}

export const REFERENCE: GptConfig = { vocab: 512, layers: 4, dModel: 256, heads: 4, seq: 128 };

export function initGpt(cfg: GptConfig): Map<string, T.Tensor> {
  const p = new Map<string, T.Tensor>();
  const d = cfg.dModel;
  const normal = (shape: number[], std: number) => T.keep(T.noGrad(() => T.randn(shape).mul(std)).requiresGrad_());
  const filled = (shape: number[], v: number) => T.keep(T.full(shape, v).requiresGrad_());
  p.set("wte", normal([cfg.vocab, d], 0.02));
  p.set("wpe", normal([cfg.seq, d], 0.01));
  for (let l = 0; l < cfg.layers; l++) {
    p.set(`h${l}.ln1.w`, filled([d], 1));
    p.set(`h${l}.ln1.b`, filled([d], 0));
    p.set(`h${l}.attn.w`, normal([3 * d, d], 0.02));
    p.set(`h${l}.attn.b`, filled([3 * d], 0));
    p.set(`h${l}.proj.w`, normal([d, d], 0.02 / Math.sqrt(2 * cfg.layers)));
    p.set(`h${l}.proj.b`, filled([d], 0));
    p.set(`h${l}.ln2.w`, filled([d], 1));
    p.set(`h${l}.ln2.b`, filled([d], 0));
    p.set(`h${l}.fc.w`, normal([4 * d, d], 0.02));
    p.set(`h${l}.fc.b`, filled([4 * d], 0));
    p.set(`h${l}.fc2.w`, normal([d, 4 * d], 0.02 / Math.sqrt(2 * cfg.layers)));
    p.set(`h${l}.fc2.b`, filled([d], 0));
  }
  p.set("lnf.w", filled([d], 1));
  p.set("lnf.b", filled([d], 0));
  return p;
}

/** Logits [B, T, vocab] for token ids [B, T]. */
export function gptForward(cfg: GptConfig, p: Map<string, T.Tensor>, ids: T.Tensor): T.Tensor {
  const [b, t] = ids.shape as [number, number];
  const d = cfg.dModel, nh = cfg.heads, hd = d / nh;
  const g = (k: string) => p.get(k)!;
  let x = T.embedding(g("wte"), ids).add(g("wpe").narrow(0, 0, t));
  for (let l = 0; l < cfg.layers; l++) {
    const h = T.layerNorm(x, [d], g(`h${l}.ln1.w`), g(`h${l}.ln1.b`));
    const qkv = T.linear(h, g(`h${l}.attn.w`), g(`h${l}.attn.b`)).view(b, t, 3, nh, hd).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
    const y = T.attention(q, k, v, { causal: true }).transpose(1, 2).reshape(b, t, d);
    x = x.add(T.linear(y, g(`h${l}.proj.w`), g(`h${l}.proj.b`)));
    const h2 = T.layerNorm(x, [d], g(`h${l}.ln2.w`), g(`h${l}.ln2.b`));
    x = x.add(T.linear(T.linear(h2, g(`h${l}.fc.w`), g(`h${l}.fc.b`)).gelu("tanh"), g(`h${l}.fc2.w`), g(`h${l}.fc2.b`)));
  }
  x = T.layerNorm(x, [d], g("lnf.w"), g("lnf.b"));
  return T.linear(x, g("wte"));
}

/** One policy-gradient step: loss = −mean(adv · log p(target)), backward, AdamW. */
export function trainStep(cfg: GptConfig, p: Map<string, T.Tensor>, opt: T.AdamW, ids: T.Tensor, targets: T.Tensor, adv: T.Tensor): number {
  return T.tidy(() => {
    opt.zeroGrad();
    const logp = gptForward(cfg, p, ids).logSoftmax(-1).gather(2, targets.unsqueeze(2)).squeeze(2);
    const loss = logp.mul(adv).mean().neg();
    loss.backward();
    opt.update();
    return loss.item();
  });
}

/** Forward + backward FLOPs of the reference step: 6·params·tokens plus attention. */
export function trainStepFlops(cfg: GptConfig, batch: number): number {
  const d = cfg.dModel, t = cfg.seq, tokens = batch * t;
  const matmulParams = cfg.layers * 12 * d * d + cfg.vocab * d;
  const attention = cfg.layers * 2 * 2 * t * t * d * batch; // QKᵀ and AV, forward
  return 6 * matmulParams * tokens + 3 * attention;
}
