/**
 * `npm run bench -- kernels [--rounds=N]`: each fused kernel on each instruction-set path this CPU
 * supports against the plain libtorch composition it replaces (T.setIsa("libtorch")), at the
 * reference model's decoding and training shapes (d 256, 4 heads of 64, SwiGLU 704, batch 8 ×
 * 128 tokens). The paths run alternately in one process, so a slow spell of a shared machine
 * weighs on both sides of a ratio; each line gives the median time per call of each path and the
 * speed-up over libtorch (median and range over the rounds). A speed-up below 1 is a kernel path
 * slower than the composition.
 *
 * libtorch's own kernels follow the CPU, not FGRPO_ISA: to compare against an AVX2 machine's
 * libtorch, also set ATEN_CPU_CAPABILITY=avx2 and OPENBLAS_CORETYPE=Haswell (both are printed).
 */
import * as T from "../src/torch/index.js";

interface Case {
  name: string;
  shape: string;
  /** Builds the inputs once and returns the call to time. */
  setup(): () => void;
}

const f32 = { dtype: "float32" as const };
const keepRandn = (shape: number[], scale = 1) => T.keep(T.randn(shape, f32).mul(scale));
const param = (shape: number[]) => T.keep(T.randn(shape, f32).requiresGrad_());

function noGrad(name: string, shape: string, make: () => () => T.Tensor): Case {
  return { name, shape, setup: () => { const f = make(); return () => T.tidy(() => { T.noGrad(f); }); } };
}
function withGrad(name: string, shape: string, make: () => () => T.Tensor): Case {
  return { name, shape, setup: () => { const f = make(); return () => T.tidy(() => { f().sum().backward(); }); } };
}

const CASES: Case[] = [
  noGrad("matmul", "1x256·256x768", () => { const x = keepRandn([1, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "1x256·256x1408", () => { const x = keepRandn([1, 256]), w = keepRandn([256, 1408]); return () => x.matmul(w); }),
  noGrad("matmul", "1x704·704x256", () => { const x = keepRandn([1, 704]), w = keepRandn([704, 256]); return () => x.matmul(w); }),
  noGrad("matmul", "2x256·256x768", () => { const x = keepRandn([2, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "4x256·256x768", () => { const x = keepRandn([4, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "5x256·256x768", () => { const x = keepRandn([5, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "6x256·256x768", () => { const x = keepRandn([6, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "8x256·256x768", () => { const x = keepRandn([8, 256]), w = keepRandn([256, 768]); return () => x.matmul(w); }),
  noGrad("matmul", "8x256·256x1408", () => { const x = keepRandn([8, 256]), w = keepRandn([256, 1408]); return () => x.matmul(w); }),
  noGrad("matmul", "8x704·704x256", () => { const x = keepRandn([8, 704]), w = keepRandn([704, 256]); return () => x.matmul(w); }),
  noGrad("matmul", "8x256·256x512", () => { const x = keepRandn([8, 256]), w = keepRandn([256, 512]); return () => x.matmul(w); }),
  noGrad("matmul", "16x256·256x1408", () => { const x = keepRandn([16, 256]), w = keepRandn([256, 1408]); return () => x.matmul(w); }),
  noGrad("rmsNorm", "8x256", () => { const x = keepRandn([8, 256]), w = keepRandn([256]); return () => T.rmsNorm(x, w); }),
  withGrad("rmsNorm+grad", "1024x256", () => { const x = param([1024, 256]), w = param([256]); return () => T.rmsNorm(x, w); }),
  noGrad("siluMul", "8x704", () => { const g = keepRandn([8, 704]), u = keepRandn([8, 704]); return () => T.siluMul(g, u); }),
  withGrad("siluMul+grad", "1024x704", () => { const g = param([1024, 704]), u = param([1024, 704]); return () => T.siluMul(g, u); }),
  withGrad("gelu+grad", "1024x1024", () => { const x = param([1024, 1024]); return () => x.gelu("tanh"); }),
  noGrad("rope", "8x4x1x64", () => {
    const x = keepRandn([8, 4, 1, 64]), c = keepRandn([1, 1, 1, 64]), s = keepRandn([1, 1, 1, 64]);
    return () => T.rope(x, c, s);
  }),
  withGrad("rope+grad", "8x4x128x64", () => {
    const x = param([8, 4, 128, 64]), c = keepRandn([1, 1, 128, 64]), s = keepRandn([1, 1, 128, 64]);
    return () => T.rope(x, c, s);
  }),
  noGrad("attention", "q8x4x1x64 k128", () => {
    const q = keepRandn([8, 4, 1, 64]), k = keepRandn([8, 4, 128, 64]), v = keepRandn([8, 4, 128, 64]);
    return () => T.attention(q, k, v, { causal: true });
  }),
  noGrad("attention", "q8x4x1x64 k544", () => {
    const q = keepRandn([8, 4, 1, 64]), k = keepRandn([8, 4, 544, 64]), v = keepRandn([8, 4, 544, 64]);
    return () => T.attention(q, k, v, { causal: true });
  }),
  withGrad("attention+grad", "8x4x128x64 causal", () => {
    const q = param([8, 4, 128, 64]), k = param([8, 4, 128, 64]), v = param([8, 4, 128, 64]);
    return () => T.attention(q, k, v, { causal: true });
  }),
  noGrad("prefixAttention", "G8 q1 prefix512 suffix32", () => {
    const q = keepRandn([8, 4, 1, 64]), pk = keepRandn([1, 4, 512, 64]), pv = keepRandn([1, 4, 512, 64]);
    const sk = keepRandn([8, 4, 32, 64]), sv = keepRandn([8, 4, 32, 64]);
    return () => T.prefixAttention(q, { keys: pk, values: pv }, { keys: sk, values: sv });
  }),
];

/** Median milliseconds per call over `reps` calls, after one warm-up. */
function timeOf(fn: () => void, reps: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function run(args: string[]): void {
  const rounds = Number(args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 5);
  const only = args.find((a) => a.startsWith("--only="))?.slice(7);
  T.setNumThreads(1, 1); // as the decoding bench: one libtorch and one BLAS thread
  T.manualSeed(0);
  const info = T.buildInfo();
  const startIsa = info.isa;
  const paths = info.isas.filter((i) => i !== "libtorch");
  const env = { aten_cpu_capability: process.env.ATEN_CPU_CAPABILITY ?? null, openblas_coretype: process.env.OPENBLAS_CORETYPE ?? null };
  for (const c of CASES) {
    if (only !== undefined && !c.name.startsWith(only)) continue;
    T.tidy(() => {
      const fn = c.setup();
      // Calls per timing: about 20 ms of the slowest path.
      T.setIsa("libtorch");
      const reps = Math.max(5, Math.min(2000, Math.round(20 / Math.max(timeOf(fn, 3), 1e-3))));
      const ms: Record<string, number[]> = {};
      const ratios: Record<string, number[]> = {};
      for (let r = 0; r < rounds; r++) {
        T.setIsa("libtorch");
        const base = timeOf(fn, reps);
        (ms.libtorch ??= []).push(base);
        for (const isa of paths) {
          T.setIsa(isa);
          const t = timeOf(fn, reps);
          (ms[isa] ??= []).push(t);
          (ratios[isa] ??= []).push(base / t);
        }
      }
      T.setIsa(startIsa);
      for (const isa of paths) {
        const rs = ratios[isa]!;
        console.log(JSON.stringify({
          bench: "kernels", kernel: c.name, shape: c.shape, isa, ms: round(median(ms[isa]!), 4), libtorch_ms: round(median(ms.libtorch!), 4),
          speedup_vs_libtorch: round(median(rs), 3), speedup_range: [round(Math.min(...rs), 3), round(Math.max(...rs), 3)], rounds, ...env,
        }));
      }
    });
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
