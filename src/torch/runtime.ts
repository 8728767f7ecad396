/** Process-wide engine settings: seeding, generator state, threads, devices. */
import { native } from "./native.js";
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
export function getNumThreads(): number {
  return native.getNumThreads();
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}
export function cudaIsAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

export function buildInfo(): { torchVersion: string; cuda: boolean; config: string } {
  return native.buildInfo();
}
