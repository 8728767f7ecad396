/**
 * Loads the libtorch addon (native/build/Release/fgrpo_native.node). The addon is a thin layer:
 * every function takes and returns opaque tensor handles; src/torch/tensor.ts gives them types,
 * lifetimes and methods.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../util/errors.js";

/** The caching CPU allocator's counters (native/allocator.cc). */
export interface AllocatorStats {
  cachedBytes: number;
  liveBytes: number;
  hits: number;
  misses: number;
  installed: boolean;
}

/** The instruction-set paths of the fused kernels (native/kernels.h); "libtorch" runs none of them. */
export type Isa = "avx512" | "avx2" | "default" | "libtorch";

/** What the addon was built against, and the kernels' instruction set in use and available. */
export interface BuildInfo {
  torchVersion: string;
  cuda: boolean;
  config: string;
  isa: Isa;
  isas: Isa[];
}

/** An opaque handle owning one reference to a libtorch tensor. */
export type Handle = { readonly __handle: unique symbol };

type H = Handle;
type HOrN = Handle | number;
type Opt<T> = T | null | undefined;

export const UNARY_OPS = [
  "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "tanh", "sigmoid", "abs", "relu", "silu", "sin", "cos",
  "reciprocal", "sign", "floor", "ceil", "round", "square", "logicalNot", "isFinite", "isNan", "contiguous", "clone",
  "detach", "any", "all",
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  "add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "eq", "ne", "lt", "le", "gt", "ge",
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** The functions the addon exports (see native/*.cc for their C++ side). */
export interface NativeAddon extends Record<UnaryOp, (t: H) => H>, Record<BinaryOp, (a: H, b: HOrN) => H> {
  fromBuffer(bytes: ArrayBufferView | ArrayBuffer, shape: number[], dtype: string, device?: string): H;
  toBuffer(t: H): ArrayBuffer;
  item(t: H): number;
  zeros(shape: number[], dtype?: string, device?: string): H;
  ones(shape: number[], dtype?: string, device?: string): H;
  empty(shape: number[], dtype?: string, device?: string): H;
  full(shape: number[], value: number | boolean, dtype?: string, device?: string): H;
  randn(shape: number[], dtype?: string, device?: string): H;
  rand(shape: number[], dtype?: string, device?: string): H;
  randint(low: number, high: number, shape: number[], dtype?: string, device?: string): H;
  randperm(n: number, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): H;
  eye(n: number, dtype?: string, device?: string): H;
  shape(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  isContiguous(t: H): boolean;
  free(t: H): void;
  isFreed(t: H): boolean;
  dataPtr(t: H): number;
  manualSeed(seed: number): void;
  getRngState(device?: string): H;
  setRngState(state: H, device?: string): void;
  setNumThreads(intraOp: number, blas?: number): boolean;
  getNumThreads(): number;
  getBlasThreads(): number | null;
  profileStart(path: string): void;
  profileStop(): void;
  setNumInteropThreads(n: number): void;
  cudaDeviceCount(): number;
  buildInfo(): BuildInfo;
  setIsa(name: string): void;
  allocatorStats(): AllocatorStats;
  emptyCache(): void;

  logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H;
  gelu(t: H, approximate?: string): H;
  clamp(t: H, min: Opt<number>, max: Opt<number>): H;
  where(cond: H, a: HOrN, b: HOrN): H;
  maskedFill(t: H, mask: H, value: number | boolean): H;
  copy_(dst: H, src: H): void;
  fill_(t: H, value: number | boolean): void;
  zero_(t: H): void;
  add_(t: H, other: HOrN, alpha?: number): void;
  mul_(t: H, other: HOrN): void;
  maskedFill_(t: H, mask: H, value: number | boolean): void;
  indexCopy_(t: H, dim: number, index: H, src: H): void;
  sum(t: H, dims: Opt<number[]>, keepdim?: boolean): H;
  mean(t: H, dims: Opt<number[]>, keepdim?: boolean): H;
  var(t: H, dims: Opt<number[]>, keepdim?: boolean, unbiased?: boolean): H;
  logsumexp(t: H, dims: number[], keepdim?: boolean): H;
  max(t: H, dim?: Opt<number>, keepdim?: boolean): H | [H, H];
  min(t: H, dim?: Opt<number>, keepdim?: boolean): H | [H, H];
  argmax(t: H, dim?: Opt<number>, keepdim?: boolean): H;
  argmin(t: H, dim?: Opt<number>, keepdim?: boolean): H;
  cumsum(t: H, dim: number): H;
  norm(t: H, p: number): H;
  reshape(t: H, shape: number[]): H;
  view(t: H, shape: number[]): H;
  transpose(t: H, d0: number, d1: number): H;
  permute(t: H, dims: number[]): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  slice(t: H, dim: number, start: number, end: number, step?: number): H;
  select(t: H, dim: number, index: number): H;
  squeeze(t: H, dim?: Opt<number>): H;
  unsqueeze(t: H, dim: number): H;
  flatten(t: H, start: number, end: number): H;
  expand(t: H, shape: number[]): H;
  repeat(t: H, reps: number[]): H;
  flip(t: H, dims: number[]): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  chunk(t: H, n: number, dim: number): H[];
  split(t: H, sizes: number[], dim: number): H[];
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  scatterAdd(t: H, dim: number, index: H, src: H): H;
  scatter(t: H, dim: number, index: H, src: HOrN): H;
  triu(t: H, k?: number): H;
  tril(t: H, k?: number): H;
  to(t: H, dtype: Opt<string>, device: Opt<string>): H;
  matmul(a: H, b: H): H;
  bmm(a: H, b: H): H;
  linear(x: H, w: H, b?: Opt<H>): H;
  softmax(t: H, dim: number): H;
  logSoftmax(t: H, dim: number): H;
  embedding(weight: H, ids: H): H;
  dropout(t: H, p: number, train: boolean): H;
  layerNorm(x: H, shape: number[], w: Opt<H>, b: Opt<H>, eps: number): H;
  rmsNorm(x: H, w: Opt<H>, eps: number): H;
  crossEntropy(logits: H, targets: H, ignoreIndex?: number, reduction?: string): H;
  rope(x: H, cos: H, sin: H, interleaved: boolean): H;
  siluMul(gate: H, up: H): H;
  attention(q: H, k: H, v: H, mask: Opt<H>, causal: boolean, scale?: Opt<number>): H;
  prefixAttention(q: H, prefixK: H, prefixV: H, prefixMask: Opt<H>, suffixK: H, suffixV: H, scale?: Opt<number>): H;
  multinomial(probs: H, n: number, replacement: boolean): H;
  topk(t: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean, stable: boolean): [H, H];
  setRequiresGrad(t: H, on: boolean): void;
  requiresGrad(t: H): boolean;
  isLeaf(t: H): boolean;
  backward(t: H, grad: Opt<H>, retainGraph: boolean): void;
  grad(t: H): H | null;
  setGrad(t: H, g: Opt<H>): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  checkpoint(fn: (inputs: H[]) => H[], inputs: H[]): H[];
  autogradGrad(outputs: H[], inputs: H[], gradOutputs: Opt<H[]>, retainGraph: boolean, createGraph: boolean, allowUnused: boolean): (H | null)[];
  adamwStep(params: H[], m: H[], v: H[], step: number, lr: number, b1: number, b2: number, eps: number, wd: number): void;
  sgdStep(params: H[], bufs: Opt<H[]>, lr: number, momentum: number, dampening: number, wd: number, nesterov: boolean, first: boolean): void;
  clipGradNorm(params: H[], maxNorm: number): number;
  gradNorm(params: H[]): number;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "native", "binding.gyp"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("fgrpo: cannot find the package root (native/binding.gyp) above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function load(): NativeAddon {
  // libtorch's OpenMP workers spin after each parallel region by default, stealing the cores that
  // OpenBLAS's own threads need; passive waiting lets the two pools share 2 cores (measured in
  // bench/train-step). libgomp reads this when the addon loads, so it is set before. A value the
  // user set wins.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  const path = process.env.FGRPO_NATIVE ?? join(packageRoot(), "native", "build", "Release", "fgrpo_native.node");
  if (!existsSync(path)) {
    throw new Error(`fgrpo: the libtorch addon is not built (${path} missing). Run \`npm run build\` (needs libtorch: apt-get install libtorch-dev libopenblas-dev, or LIBTORCH=/path/to/libtorch).`);
  }
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    // A FGRPO_ISA the CPU lacks (or misspelled) is the user's input, not a fault of ours.
    if (e instanceof Error && e.message.startsWith("fgrpo: FGRPO_ISA=")) throw new InputError(e.message.slice("fgrpo: ".length));
    throw e;
  }
}

export const native: NativeAddon = load();

// Thread defaults, chosen by measurement (bench/train-step on 2 cores): one libtorch intra-op
// thread and one BLAS thread per core is fastest for the reference model (213 ms vs 259 ms with
// both pools at 2 threads, and 322 ms single-threaded). Environment variables the user set win.
if (process.env.OMP_NUM_THREADS === undefined && process.env.OPENBLAS_NUM_THREADS === undefined) {
  native.setNumThreads(1, availableParallelism());
}
