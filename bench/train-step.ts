/**
 * `npm run bench -- train-step [--steps=N] [--threads=I,B]`: the reference GPT's policy-gradient train step (forward,
 * backward, AdamW). Prints one JSON line per thread setting tried, then the summary line.
 * ARCHITECTURE.md: PyTorch 2.13 (MKL) from Python on this machine: 200 ms; fp32 peak 166 GFLOP/s.
 */
import * as T from "../src/torch/index.js";
import { REFERENCE, initGpt, trainStep, trainStepFlops } from "./reference-gpt.js";

const PEAK_GFLOPS = 166;
const PYTORCH_MS = 200;
const BATCH = 8;

function measure(steps: number, device: string): number {
  const cfg = REFERENCE;
  T.manualSeed(0);
  const p = initGpt(cfg);
  const opt = new T.AdamW(p, { lr: 1e-4 });
  const ids = T.keep(T.randint(0, cfg.vocab, [BATCH, cfg.seq]));
  const targets = T.keep(T.randint(0, cfg.vocab, [BATCH, cfg.seq]));
  const adv = T.keep(T.randn([BATCH, cfg.seq]));
  const onDevice = device === "cpu" ? p : new Map([...p].map(([k, v]) => [k, T.keep(T.noGrad(() => v.toDevice(device)).requiresGrad_())]));
  const [i2, t2, a2] = device === "cpu" ? [ids, targets, adv] : [ids, targets, adv].map((x) => T.keep(x.toDevice(device)));
  const o2 = device === "cpu" ? opt : new T.AdamW(onDevice, { lr: 1e-4 });
  for (let i = 0; i < 3; i++) trainStep(cfg, onDevice, o2, i2!, t2!, a2!);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainStep(cfg, onDevice, o2, i2!, t2!, a2!); // item() synchronises the device
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function run(args: string[]): void {
  const device = args.includes("--cuda") ? "cuda" : "cpu";
  const steps = Number(args.find((a) => a.startsWith("--steps="))?.slice(8) ?? 15);
  const flops = trainStepFlops(REFERENCE, BATCH);
  const forced = args.find((a) => a.startsWith("--threads="))?.slice(10).split(",").map(Number);
  const settings = forced ? [forced] : device === "cpu" ? [[1, 1], [2, 1], [1, 2], [2, 2]] : [[T.getNumThreads(), 1]];
  let best = { ms: Infinity, intra: 0, blas: 0 };
  for (const [intra, blas] of settings as [number, number][]) {
    T.setNumThreads(intra, blas);
    const ms = measure(steps, device);
    console.log(JSON.stringify({ bench: "train-step-threads", isa: T.buildInfo().isa, device, intra_op_threads: intra, blas_threads: blas, ms_per_step: round(ms) }));
    if (ms < best.ms) best = { ms, intra, blas };
  }
  const gflops = flops / (best.ms / 1000) / 1e9;
  console.log(JSON.stringify({
    bench: "train-step", isa: T.buildInfo().isa, device, model: "reference-gpt", batch: BATCH, seq: REFERENCE.seq,
    intra_op_threads: best.intra, blas_threads: best.blas, ms_per_step: round(best.ms), gflops: round(gflops),
    peak_fraction: device === "cpu" ? round(gflops / PEAK_GFLOPS) : null,
    ratio_to_pytorch: device === "cpu" ? round(PYTORCH_MS / best.ms) : null,
  }));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
