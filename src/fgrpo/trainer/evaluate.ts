/**
 * Evaluation (SPEC §5): greedy decoding, then the ranking metrics on the <RANK> list and slate
 * recall on the <SLATE>, with 95% bootstrap intervals and the validity taxonomy of the outputs.
 * Invalid outputs are scored on what could be read from them (an empty ranking scores 0), never
 * dropped.
 */
import * as T from "../../torch/index.js";
import { generate } from "../../generation/generate.js";
import { COMPARABLE_METRICS, evaluateRun, type EvalSummary, type Grades, type QueryRun } from "../../eval/metrics.js";
import { ROLLOUT_STATUSES, type RolloutStatus } from "../parse-core.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import type { PolicyModel } from "./policy.js";

/** Validation, `eval` and `compare` metrics: the cut-at-5 metrics every method shares, plus slate recall. */
export const EVAL_METRICS: readonly string[] = [...COMPARABLE_METRICS, "slate_recall"];

export interface EvalResult {
  summary: EvalSummary;
  /** Mean of each metric (the `summary` means, flattened for logs). */
  means: Record<string, number>;
  statusCounts: Record<RolloutStatus, number>;
  runs: QueryRun[];
}

export interface EvalOptions {
  constrained: boolean;
  batchSize?: number;
  seed?: number;
  /** Called after each batch with (done, total), for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

/** Greedy completions of the examples (token ids, ending with EOS when finished). */
export function greedyCompletions(policy: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], opts: EvalOptions): number[][] {
  const out: number[][] = [];
  const batch = opts.batchSize ?? 64;
  for (let i = 0; i < examples.length; i += batch) {
    const chunk = examples.slice(i, i + batch);
    const r = T.noGrad(() =>
      generate(policy.model, chunk.map((e) => e.promptIds), {
        maxNewTokens: task.policyCodec.maxCompletionTokens(task.layout),
        greedy: true,
        stopTokens: [task.policyCodec.eosId],
        constraint: opts.constrained ? task.batchConstraint(chunk) : undefined,
      }),
    );
    out.push(...r.completions);
    opts.onProgress?.(Math.min(i + batch, examples.length), examples.length);
  }
  return out;
}

export function evaluatePolicy(policy: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], opts: EvalOptions): EvalResult {
  const completions = greedyCompletions(policy, task, examples, opts);
  return scoreOutputs(task, examples, completions, opts.seed ?? 0);
}

/** Scores given completions (also used for decoupled pipelines and `fgrpo rank`). */
export function scoreOutputs(task: TaskSetup, examples: readonly EncodedExample[], completions: readonly number[][], seed: number): EvalResult {
  const statusCounts = Object.fromEntries(ROLLOUT_STATUSES.map((s) => [s, 0])) as Record<RolloutStatus, number>;
  const runs: QueryRun[] = [];
  const gold = new Map<string, Grades>();
  examples.forEach((e, i) => {
    const parsed = e.codec.parse(completions[i]!);
    statusCounts[parsed.status] += 1;
    const inPool = (p: number) => p >= 1 && p <= e.example.pool.length;
    const ids = task.toDocIds(e, { slate: parsed.slate.filter(inPool), ranking: parsed.ranking.filter(inPool) });
    runs.push({ id: e.example.id, ranking: ids.ranking, slate: ids.slate });
    gold.set(e.example.id, e.example.relevant);
  });
  const summary = evaluateRun(new Map(runs.map((r) => [r.id, r])), gold, EVAL_METRICS, { seed });
  const means = Object.fromEntries(Object.entries(summary.metrics).map(([k, v]) => [k, v.mean]));
  return { summary, means, statusCounts, runs };
}
