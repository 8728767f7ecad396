/**
 * Ranking users' own requests with a trained policy: the one path behind `fgrpo rank` (a file)
 * and `fgrpo serve` (HTTP). Requests are validated by request-schema.ts; answers are one
 * {"id", "ranking", "slate", "status", "detail", "logprobs"} per request, in request order.
 *
 * Every answer depends only on its own request: greedy decoding takes no randomness, a sampled
 * request draws from its own seeded stream (generate's per-prompt `seeds`), and an
 * unconstrained completion is cut at its own pool's longest valid length. So a batch of
 * requests, however it was grouped, gets the answers each request would get alone (up to the
 * float rounding of batched matrix products, which can only matter for exact logit ties).
 */
import { readJsonl } from "../../util/jsonl.js";
import { InputError } from "../../util/errors.js";
import { generate } from "../../generation/generate.js";
import * as T from "../../torch/index.js";
import type { Span } from "../parse-core.js";
import type { RankingExample } from "../../tasks/types.js";
import { batchConstraint, exampleEncoder, layoutOf, type EncodedExample } from "./data.js";
import type { TrainConfig } from "./config.js";
import type { PolicyModel } from "./policy.js";
import { parseRankRequest, requestSchema, type RankedRequest, type RankRequest, type RequestLimits } from "./request-schema.js";

export type { RankedRequest, RankRequest, RequestLimits } from "./request-schema.js";

/** What a policy trained with `config` accepts. */
export function requestLimits(config: TrainConfig): RequestLimits {
  return { task: config.task.task, layout: layoutOf(config) };
}

/** Reads and validates a requests file (JSON Lines); the first problem is an InputError naming file, line and field. */
export function readRequests(file: string, limits: RequestLimits): RankRequest[] {
  const schema = requestSchema(limits);
  const seen = new Set<string>();
  const records = readJsonl(file);
  if (records.length === 0) throw new InputError("no requests: the file is empty", { file });
  return records.map(({ line, value }) => {
    const request = parseRankRequest(value, schema, limits, { file, line });
    const id = request.example.id;
    if (seen.has(id)) throw new InputError(`duplicate request id "${id}"`, { file, line, field: "id" });
    seen.add(id);
    return request;
  });
}

export interface RankOptions {
  /** Decode under the grammar automaton (every answer valid). */
  constrained: boolean;
  /** Most prompts per generation call (default 64). */
  batchSize?: number;
}

/**
 * Ranks requests with a policy, each under the automaton of its own pool and
 * limits. The returned function serves many calls (a server's batches): the pools' codecs and
 * automata are built once per pool shape.
 */
export function requestRanker(policy: PolicyModel, config: TrainConfig, opts: RankOptions): (requests: readonly RankRequest[]) => RankedRequest[] {
  // One encoder per requested (n_max, k_max): its layout caps every pool's slate and ranking,
  // and it shares one codec and automaton among the pools of each size.
  const encoders = new Map<string, (example: RankingExample) => EncodedExample>();
  const encode = (r: RankRequest): EncodedExample => {
    const key = `${r.nMax}:${r.kMax}`;
    let e = encoders.get(key);
    if (!e) encoders.set(key, (e = exampleEncoder(policy.codec, { ...layoutOf(config), nMax: r.nMax, kMax: r.kMax })));
    return e(r.example);
  };
  return (requests) => rankWith(policy, encode, requests, opts);
}

function rankWith(policy: PolicyModel, encode: (r: RankRequest) => EncodedExample, requests: readonly RankRequest[], opts: RankOptions): RankedRequest[] {
  const out = new Array<RankedRequest>(requests.length);
  const batch = opts.batchSize ?? 64;
  // One generation call per decoding setting (greedy, or a temperature), in chunks of `batch`.
  const groups = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const key = r.decoding.greedy ? "greedy" : `t=${r.decoding.temperature}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  for (const indices of groups.values()) {
    for (let s = 0; s < indices.length; s += batch) {
      const chunk = indices.slice(s, s + batch);
      const encoded = chunk.map((i) => encode(requests[i]!));
      const decoding = requests[chunk[0]!]!.decoding;
      const gen = T.noGrad(() =>
        generate(policy.model, encoded.map((e) => e.promptIds), {
          maxNewTokens: Math.max(...encoded.map((e) => policy.codec.maxCompletionTokens(e.codec.layout))),
          greedy: decoding.greedy,
          temperature: decoding.temperature,
          seeds: chunk.map((i) => requests[i]!.decoding.seed),
          stopTokens: [policy.codec.eosId],
          constraint: opts.constrained ? batchConstraint(encoded) : undefined,
        }),
      );
      encoded.forEach((e, k) => {
        // The completion this request would get alone: cut at its own longest valid length.
        const cap = policy.codec.maxCompletionTokens(e.codec.layout);
        out[chunk[k]!] = answer(e, gen.completions[k]!.slice(0, cap), gen.logprobs[k]!.slice(0, cap));
      });
    }
  }
  return out;
}

function answer(e: EncodedExample, tokens: number[], logprobs: number[]): RankedRequest {
  const parsed = e.codec.parse(tokens);
  const ids = (positions: number[]) => positions.map((p) => e.example.pool[p - 1]?.id).filter((x): x is string => x !== undefined);
  const sum = (span: Span | null) => (span === null ? null : logprobs.slice(span.start, span.end).reduce((a, b) => a + b, 0));
  return {
    id: e.example.id,
    ranking: ids(parsed.ranking),
    slate: ids(parsed.slate),
    status: parsed.status,
    detail: parsed.detail,
    logprobs: { slate: sum(parsed.slateSpan), rank: sum(parsed.rankSpan) },
  };
}

