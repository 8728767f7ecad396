import * as T from "../../torch/index.js";
import type { TrainConfig } from "./config.js";

/**
 * Applies a config's `threads` / `blas_threads` (0 = keep the engine default). Every entry point
 * that computes with a config calls it first: the BLAS thread count changes how products split
 * their sums, so a run's numbers depend on it, and a run must not inherit whatever an earlier run
 * of the same process left (decoupled pipelines in `compare` did: docs/results-rl-study.md §5).
 */
export function applyThreads(config: Pick<TrainConfig, "threads" | "blas_threads">): void {
  if (config.threads > 0 || config.blas_threads > 0) T.setNumThreads(config.threads || T.getNumThreads(), config.blas_threads || undefined);
}
