"""PyTorch reference loops for `bench/generate.ts` and `bench/train-step.ts`, to run on the same
machine and in the same conditions (threads, ATEN_CPU_CAPABILITY) as the fgrpo benches. Bench
only: nothing in the library or its tests runs Python.

    /usr/bin/python3 bench/pytorch_reference.py [--runs=N] [--steps=N] [--only=generate|train] [--threads=N]

Prints JSON lines: `pytorch-generate` (the plain KV-cache decoding loop of a Llama with the
reference dims of ARCHITECTURE.md: vocab 512, 4 layers, d 256, 4 heads, SwiGLU 704, tied head;
128 tokens at batch 1 and 8, sampling at temperature 1) and `pytorch-train-step` (the
reference GPT's policy-gradient step: forward, backward, AdamW, batch 8 × 128). One intra-op
thread for decoding, as the fgrpo bench; 1 and 2 for the train step.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, LAYERS, D, HEADS, FF = 512, 4, 256, 4, 704
HD = D // HEADS


def arg(name, default):
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            return int(a.split("=", 1)[1])
    return default


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(positions):
    inv = 1.0 / (10000 ** (torch.arange(0, HD, 2, dtype=torch.float32) / HD))
    freqs = torch.outer(positions.float(), inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos(), emb.sin()


def rotate(x, cos, sin):
    x1, x2 = x[..., : HD // 2], x[..., HD // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def llama_params():
    g = torch.Generator().manual_seed(0)
    n = lambda *s: torch.randn(*s, generator=g) * 0.02
    p = {"emb": n(VOCAB, D), "norm": torch.ones(D)}
    for l in range(LAYERS):
        p[f"{l}.n1"], p[f"{l}.n2"] = torch.ones(D), torch.ones(D)
        p[f"{l}.qkv"], p[f"{l}.o"] = n(D, 3 * D), n(D, D)
        p[f"{l}.gu"], p[f"{l}.down"] = n(D, 2 * FF), n(FF, D)
    return p


@torch.no_grad()
def decode(p, batch, new_tokens):
    """Token by token with a KV cache, sampling at temperature 1; returns tokens per second."""
    ids = torch.ones(batch, 1, dtype=torch.long)
    cache = [[None, None] for _ in range(LAYERS)]
    t0 = time.perf_counter()
    for pos in range(new_tokens):
        x = p["emb"][ids[:, -1:]]
        cos, sin = rope_tables(torch.tensor([pos]))
        for l in range(LAYERS):
            h = rms_norm(x, p[f"{l}.n1"])
            q, k, v = (h @ p[f"{l}.qkv"]).view(batch, 1, 3, HEADS, HD).permute(2, 0, 3, 1, 4)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            ck, cv = cache[l]
            k = k if ck is None else torch.cat([ck, k], 2)
            v = v if cv is None else torch.cat([cv, v], 2)
            cache[l] = [k, v]
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(HD), -1) @ v
            x = x + a.transpose(1, 2).reshape(batch, 1, D) @ p[f"{l}.o"]
            gu = rms_norm(x, p[f"{l}.n2"]) @ p[f"{l}.gu"]
            x = x + (F.silu(gu[..., :FF]) * gu[..., FF:]) @ p[f"{l}.down"]
        logits = rms_norm(x, p["norm"]) @ p["emb"].t()
        nxt = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)
        ids = torch.cat([ids, nxt], 1)
    return batch * new_tokens / (time.perf_counter() - t0)


def gpt_params():
    g = torch.Generator().manual_seed(0)
    n = lambda *s, std=0.02: (torch.randn(*s, generator=g) * std).requires_grad_()
    z = lambda *s: torch.zeros(*s).requires_grad_()
    o = lambda *s: torch.ones(*s).requires_grad_()
    p = {"wte": n(VOCAB, D), "wpe": n(128, D, std=0.01), "lnf.w": o(D), "lnf.b": z(D)}
    for l in range(LAYERS):
        p.update({f"{l}.ln1.w": o(D), f"{l}.ln1.b": z(D), f"{l}.attn.w": n(3 * D, D), f"{l}.attn.b": z(3 * D),
                  f"{l}.proj.w": n(D, D, std=0.02 / math.sqrt(2 * LAYERS)), f"{l}.proj.b": z(D), f"{l}.ln2.w": o(D), f"{l}.ln2.b": z(D),
                  f"{l}.fc.w": n(4 * D, D), f"{l}.fc.b": z(4 * D), f"{l}.fc2.w": n(D, 4 * D, std=0.02 / math.sqrt(2 * LAYERS)), f"{l}.fc2.b": z(D)})
    return p


def gpt_step(p, opt, ids, targets, adv):
    """bench/reference-gpt.ts's trainStep, op for op."""
    b, t = ids.shape
    opt.zero_grad()
    x = p["wte"][ids] + p["wpe"][:t]
    for l in range(LAYERS):
        h = F.layer_norm(x, [D], p[f"{l}.ln1.w"], p[f"{l}.ln1.b"])
        q, k, v = F.linear(h, p[f"{l}.attn.w"], p[f"{l}.attn.b"]).view(b, t, 3, HEADS, HD).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") else None
        if y is None:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(HD)
            s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
            y = torch.softmax(s, -1) @ v
        x = x + F.linear(y.transpose(1, 2).reshape(b, t, D), p[f"{l}.proj.w"], p[f"{l}.proj.b"])
        h2 = F.layer_norm(x, [D], p[f"{l}.ln2.w"], p[f"{l}.ln2.b"])
        x = x + F.linear(F.gelu(F.linear(h2, p[f"{l}.fc.w"], p[f"{l}.fc.b"]), approximate="tanh"), p[f"{l}.fc2.w"], p[f"{l}.fc2.b"])
    logits = F.linear(F.layer_norm(x, [D], p["lnf.w"], p["lnf.b"]), p["wte"])
    logp = logits.log_softmax(-1).gather(2, targets.unsqueeze(2)).squeeze(2)
    loss = -(logp * adv).mean()
    loss.backward()
    opt.step()
    return loss.item()


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    runs, steps = arg("runs", 5), arg("steps", 15)
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability") else None
    env = {"torch": torch.__version__, "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY") or capability,
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}
    only = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")), None)
    p = llama_params()
    for batch in (1, 8) if only != "train" else ():
        decode(p, batch, 16)  # warm-up
        rate = median([decode(p, batch, 128) for _ in range(runs)])
        print(json.dumps({"bench": "pytorch-generate", "batch": batch, "new_tokens": 128, "tokens_per_s": round(rate), **env}), flush=True)
    if only == "generate":
        return
    gp = gpt_params()
    opt = torch.optim.AdamW(list(gp.values()), lr=1e-4)
    ids, targets, adv = torch.randint(0, VOCAB, (8, 128)), torch.randint(0, VOCAB, (8, 128)), torch.randn(8, 128)
    # Like bench/train-step.ts, which keeps the fastest of its thread settings: 1 and 2 threads.
    for threads in (arg("threads", 0),) if arg("threads", 0) else (1, 2):
        torch.set_num_threads(threads)
        for _ in range(3):
            gpt_step(gp, opt, ids, targets, adv)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            gpt_step(gp, opt, ids, targets, adv)
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"bench": "pytorch-train-step", "batch": 8, "seq": 128, "threads": threads, "ms_per_step": round(median(times), 1), **env}), flush=True)


if __name__ == "__main__":
    main()
