/**
 * A loaded model that answers ranking requests: what `fgrpo rank` and `fgrpo serve` hold. The
 * commands only see this interface; what kind of policy a folder holds (task vocabulary or an HF
 * text model, LoRA merged on save) is the policy codec's business, not theirs.
 */
import { findRunConfig } from "./checkpoint-config.js";
import type { TrainConfig } from "./config.js";
import { applyThreads } from "./threads.js";
import { disposePolicy, loadPolicy } from "./policy.js";
import { requestLimits, requestRanker, type RankedRequest, type RankRequest, type RequestLimits } from "./requests.js";
import { requestSchema } from "./request-schema.js";

export interface Ranker {
  /** The task and layout requests must fit. */
  readonly limits: RequestLimits;
  /** The request schema for these limits (validation and the server's OpenAPI document). */
  readonly schema: ReturnType<typeof requestSchema>;
  /** What was loaded, for logs and /healthz. */
  readonly info: { checkpoint: string; kind: string; constrained: boolean };
  /** Answers in request order; each answer depends only on its own request. Synchronous: it runs the model. */
  rank(requests: readonly RankRequest[]): RankedRequest[];
  /** Frees the model's tensors. */
  dispose(): void;
}

export interface OpenRankerOptions {
  /** The training config (default: the nearest config.json above the checkpoint). */
  config?: string;
  /** The training config already read (by a caller that validated requests against it first). */
  runConfig?: TrainConfig;
  /** Decode under the grammar automaton (default true). */
  constrained?: boolean;
  /** Most prompts per generation call. */
  batchSize?: number;
}

/** Loads a checkpoint folder written by training (a task-vocabulary or a text policy). */
export function openRanker(dir: string, opts: OpenRankerOptions = {}): Ranker {
  const config = opts.runConfig ?? findRunConfig(dir, opts.config);
  // The thread counts the model was trained with (as `train` sets them): on a small CPU, more
  // BLAS threads than cores slows the skinny decode-step products down.
  applyThreads(config);
  const limits = requestLimits(config);
  const policy = loadPolicy(dir, config);
  const constrained = opts.constrained ?? true;
  return {
    limits,
    schema: requestSchema(limits),
    info: { checkpoint: dir, kind: policy.codec.kind === "text" ? "text policy" : "task-vocabulary policy", constrained },
    rank: requestRanker(policy, config, { constrained, batchSize: opts.batchSize }),
    dispose: () => disposePolicy(policy),
  };
}
