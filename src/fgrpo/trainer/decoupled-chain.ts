/**
 * The decoupled pipelines' two models at work (SPEC §6): the training pairs of each stage, the
 * selector writing a slate, the ranker ranking a given slate, and the chain of both. Training
 * lives in decoupled.ts.
 *
 * Both models use the unified grammar and automaton; the selector stops at </SLATE>, and the
 * ranker's automaton starts after the slate its prompt holds (PrefixedConstraint). The ranker's
 * prompt is the selector's prompt followed by the slate tokens, i.e. exactly the context a unified
 * model has when it has written that slate: one unified model used as both stages (a warm start
 * with no stage training) therefore reproduces its own greedy output.
 */
import * as T from "../../torch/index.js";
import { generate } from "../../generation/generate.js";
import { makeBaseline } from "../../tasks/baselines/index.js";
import type { Rng } from "../../util/random.js";
import { PrefixedConstraint } from "../prefixed-constraint.js";
import type { TokenConstraint } from "../../generation/constraint.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import type { PolicyModel } from "./policy.js";
import type { SftPair } from "./sft.js";

export interface DecodeOptions {
  greedy: boolean;
  numGenerations?: number;
  seed?: number;
  temperature?: number;
}

/** Splits a completion into its slate part (through </SLATE>) and its ranking part. */
export function splitCompletion(task: TaskSetup, completion: number[]): { slate: number[]; rank: number[] } {
  const end = completion.indexOf(task.taskVocab().codec.closeSlate) + 1;
  return { slate: completion.slice(0, end), rank: completion.slice(end) };
}

/** The selector's SFT pair: the prompt and the gold slate. */
export function selectorPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  return { prompt: e.promptIds, completion: splitCompletion(task, task.goldCompletion(e, rng)).slate, constraint: e.constraint as TokenConstraint<unknown> };
}

/** The ranker's SFT pair: the prompt plus the gold slate, and the gold ranking of that slate. */
export function rankerPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  const { slate, rank } = splitCompletion(task, task.goldCompletion(e, rng));
  return { prompt: [...e.promptIds, ...slate], completion: rank, constraint: e.constraint as TokenConstraint<unknown>, constraintPrefix: slate };
}

/** Sampled or greedy continuations of `prompts` under `constraint`, stopping at `stop`. */
function decode(policy: PolicyModel, prompts: number[][], maxNewTokens: number, stop: number, constraint: TokenConstraint<unknown>, opts: DecodeOptions) {
  return T.noGrad(() =>
    generate(policy.model, prompts, {
      maxNewTokens,
      greedy: opts.greedy,
      temperature: opts.temperature,
      numGenerations: opts.numGenerations,
      seed: opts.seed,
      stopTokens: [stop],
      constraint,
    }),
  );
}

/** Slates (`<SLATE> … </SLATE>` tokens) written by the selector, greedily or sampled. */
export function selectSlates(selector: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], opts: DecodeOptions) {
  return decode(selector, examples.map((e) => e.promptIds), task.layout.nMax + 2, task.taskVocab().codec.closeSlate, task.batchConstraint(examples), opts);
}

/** Rankings (`<RANK> … </RANK> <eos>`) of given slates by the ranker. */
export function rankSlates(ranker: PolicyModel, task: TaskSetup, examples: readonly EncodedExample[], slates: number[][], opts: DecodeOptions) {
  const constraint = new PrefixedConstraint(task.batchConstraint(examples), slates);
  return decode(ranker, examples.map((e, i) => [...e.promptIds, ...slates[i]!]), task.layout.kMax + 3, task.taskVocab().vocab.eosId, constraint, opts);
}

/** The slate tokens of a classic first stage: its top-n_max of the pool, in pool order. */
function classicSlates(task: TaskSetup, examples: readonly EncodedExample[], seed: number): number[][] {
  const name = task.data.task === "rec" ? "itemknn" : task.data.task === "qa" ? "bm25" : "attributes";
  const ranker = makeBaseline(task.data.task, name, { ...task.data.baselineInputs(task.data.task === "qa" ? "test" : "train"), seed });
  return examples.map((e) => {
    const pos = new Map(e.example.pool.map((c, i) => [c.id, i + 1]));
    const top = ranker.rankPool(e.example).slice(0, task.layout.nMax).map((id) => pos.get(id)!).sort((a, b) => a - b);
    return splitCompletion(task, e.codec.render({ slate: top, ranking: [top[0]!] })).slate;
  });
}

/** Greedy chained predictions of a selector (or a classic first stage) and a ranker. */
export function chainedCompletions(task: TaskSetup, examples: readonly EncodedExample[], ranker: PolicyModel, selector: PolicyModel | null, seed: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < examples.length; i += 64) {
    const chunk = examples.slice(i, i + 64);
    const slates = selector ? selectSlates(selector, task, chunk, { greedy: true }).completions : classicSlates(task, chunk, seed);
    const ranks = rankSlates(ranker, task, chunk, slates, { greedy: true }).completions;
    slates.forEach((s, k) => out.push([...s, ...ranks[k]!]));
  }
  return out;
}
