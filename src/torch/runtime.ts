/** Process-wide engine settings: seeding, generator state, threads, devices. */
import { native, type AllocatorStats, type BuildInfo, type Isa } from "./native.js";
import { Tensor } from "./tensor.js";

/** Seeds libtorch's generators (CPU and every CUDA device). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed: expected a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The generator state (uint8 bytes) of a device, for exact resume. */
export function getRngState(device = "cpu"): Uint8Array {
  const t = new Tensor(native.getRngState(device));
  try {
    return t.data() as Uint8Array;
  } finally {
    t.dispose();
  }
}

export function setRngState(state: Uint8Array, device = "cpu"): void {
  const t = new Tensor(native.fromBuffer(state, [state.length], "uint8"));
  try {
    native.setRngState(t.handle, device);
  } finally {
    t.dispose();
  }
}

/**
 * Sets libtorch's intra-op threads and, when given, the BLAS library's own pool. Returns whether
 * a BLAS thread setter was found in the process.
 */
export function setNumThreads(intraOp: number, blas?: number): boolean {
  return native.setNumThreads(intraOp, blas);
}
/** libtorch's intra-op thread count. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/**
 * Runs fn under libtorch's operator profiler and writes a Chrome trace of every ATen call
 * (forward and backward, with durations) to `path`, for chrome://tracing or Perfetto. The trace
 * is written even when fn throws.
 */
export function profile<R>(path: string, fn: () => R): R {
  native.profileStart(path);
  try {
    return fn();
  } finally {
    native.profileStop();
  }
}

/** The BLAS library's thread count, or null when it offers no getter. */
export function getBlasThreads(): number | null {
  return native.getBlasThreads();
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}
export function cudaIsAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

/** libtorch's version and configuration, and the fused kernels' instruction set (`isa`) with those this CPU can run (`isas`). */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}

/**
 * Switches the fused kernels' instruction set: "avx512", "avx2", "default" (SSE2 / NEON), or
 * "libtorch" (no fused kernel: the plain libtorch compositions). FGRPO_ISA sets it at load. For
 * tests and benchmarks that compare paths in one process; a set the CPU lacks is refused.
 */
export function setIsa(isa: Isa): void {
  native.setIsa(isa);
}

/**
 * Counters of the caching CPU allocator: bytes held for reuse, bytes in live tensors, cache hits
 * and misses. FGRPO_CPU_CACHE_MB sets the cache cap (default 1024; 0 disables the cache).
 */
export function allocatorStats(): AllocatorStats {
  return native.allocatorStats();
}

/** Returns every cached CPU block to the system. */
export function emptyCache(): void {
  native.emptyCache();
}
