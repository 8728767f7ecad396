/** The typed tensor API over libtorch. */
export { Tensor, type Operand } from "./tensor.js";
export { DTYPES, DTYPE_BYTES, isFloating, type DType, type AnyTypedArray } from "./dtype.js";
export { tensor, fromBytes, zeros, ones, empty, full, randn, rand, randint, randperm, arange, eye, zerosLike, type TensorOptions } from "./creation.js";
export { cat, stack, where, linear, embedding, dropout, layerNorm, rmsNorm, rope, siluMul, crossEntropy, attention, prefixAttention } from "./functional.js";
export { noGrad, enableGrad, isGradEnabled, grad } from "./autograd.js";
export { checkpoint } from "./checkpoint.js";
export { tidy, tidyAsync, keep, scopeDepth } from "./scope.js";
export { AdamW, SGD, clipGradNorm, gradNorm, type NamedParameters, type OptimizerState, type AdamWOptions, type SGDOptions } from "./optim.js";
export { encodeSafetensors, decodeSafetensors, openSafetensors, saveSafetensors, loadSafetensors, type RawTensor, type SafetensorsContents, type SafetensorsEntry } from "./safetensors.js";
export { manualSeed, getRngState, setRngState, setNumThreads, getNumThreads, getBlasThreads, profile, cudaDeviceCount, cudaIsAvailable, buildInfo, setIsa, allocatorStats, emptyCache } from "./runtime.js";
export { gradcheck, type GradcheckResult } from "./gradcheck.js";
export type { BuildInfo, Isa } from "./native.js";
