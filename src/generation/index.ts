/** Generation: batched sampling with a KV cache, constrained decoding, and teacher-forced scoring. */
export { type TokenConstraint } from "./constraint.js";
export { generate, type GenerateOptions, type GenerateResult } from "./generate.js";
export { sampleRow, maskToAllowed, validateSampling, type SamplingOptions, type Sampled } from "./sampling.js";
export { banTokens, type LogitsProcessor, type ProcessorContext } from "./processors.js";
export { scoreCompletions, type ScoreOptions, type ScoreResult } from "./score.js";
