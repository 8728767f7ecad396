/**
 * The one description of a ranking request (a line of `fgrpo rank`'s input, the body of
 * `fgrpo serve`'s POST /v1/rank) and of its answer, as zod schemas: both commands validate with
 * them, and the server's OpenAPI document is generated from them, so the three cannot drift.
 *
 *   rec: {"id": "u1", "history": ["item", …], "candidates": [{"id": "item", "text": "title"}, …]}
 *   qa:  {"id": "q1", "question": "…",        "candidates": [{"id": "p1", "text": "title: passage"}, …]}
 *
 * Optional: "n_max" and "k_max" (at most this many ids in the slate / ranking, within the
 * model's layout), "greedy" (default true), "seed" and "temperature" (for sampled answers).
 * Unknown fields are errors (a misspelt "histroy" must not silently become an empty history).
 */
import { z } from "zod/v4";
import { InputError } from "../../util/errors.js";
import type { RankingExample, TaskName } from "../../tasks/types.js";
import type { RolloutLayout } from "../layout.js";
import { ROLLOUT_STATUSES, type RolloutStatus } from "../parse-core.js";

/** What a model accepts: its task, and its layout (pool size N, n_max, k_max). */
export interface RequestLimits {
  task: TaskName;
  layout: RolloutLayout;
}

/** How one request is decoded. Sampled answers depend only on the request and its seed. */
export interface Decoding {
  greedy: boolean;
  seed: number;
  temperature: number;
}

/** A validated request: the example to rank, its slate/ranking limits and its decoding. */
export interface RankRequest {
  example: RankingExample;
  /** Most ids in the slate and in the ranking (the model's, or the request's smaller ones). */
  nMax: number;
  kMax: number;
  decoding: Decoding;
}

const MAX_SEED = 2 ** 32 - 1;

/** The request schema for a model with these limits. */
export function requestSchema(limits: RequestLimits) {
  const { poolSize, nMax, kMax } = limits.layout;
  const candidate = z.strictObject({
    id: z.string().min(1, "expected a non-empty string").describe("candidate id, unique within the request"),
    text: z.string().optional().describe("title (rec) or \"title: passage\" (qa); may be omitted for items the model knows"),
  });
  const common = {
    id: z.string().min(1, "expected a non-empty string").describe("request id, echoed in the answer"),
    candidates: z
      .array(candidate)
      .min(1, "expected a non-empty array of {id, text}")
      .max(poolSize, { error: (iss) => `${(iss.input as unknown[]).length} candidates; this model was trained on pools of at most ${poolSize}` })
      .describe(`the pool, at most ${poolSize} candidates`),
    n_max: z.int().min(1).max(nMax).optional().describe(`most ids in the slate (default and maximum ${nMax}; also at most the number of candidates)`),
    k_max: z.int().min(1).max(kMax).optional().describe(`most ids in the ranking (default and maximum ${kMax}; at most n_max)`),
    greedy: z.boolean().optional().describe("take the most likely token at each step (default true); false samples"),
    seed: z.int().min(0).max(MAX_SEED).optional().describe("seed of a sampled answer (default 0); the answer depends only on the request and its seed"),
    temperature: z.number().positive().max(100).optional().describe("sampling temperature (default 1)"),
  };
  const task =
    limits.task === "rec"
      ? { history: z.array(z.string(), "expected an array of item ids (strings)").describe("the user's items, oldest first") }
      : { question: z.string("expected a non-empty string").refine((q) => q.trim() !== "", "expected a non-empty string").describe("the question") };
  const { id, ...rest } = common;
  return z
    .strictObject({ id, ...task, ...rest })
    .superRefine((v, ctx) => {
      const seen = new Set<string>();
      v.candidates.forEach((c, i) => {
        if (seen.has(c.id)) ctx.addIssue({ code: "custom", message: `duplicate candidate id "${c.id}"`, path: ["candidates", i, "id"] });
        seen.add(c.id);
      });
      if (v.n_max !== undefined && v.k_max !== undefined && v.k_max > v.n_max) ctx.addIssue({ code: "custom", message: `k_max (${v.k_max}) exceeds n_max (${v.n_max})`, path: ["k_max"] });
    });
}

/** The answer to one request. */
export const rankedSchema = z.strictObject({
  id: z.string(),
  ranking: z.array(z.string()).describe("candidate ids, best first"),
  slate: z.array(z.string()).describe("the candidate ids the model selected"),
  status: z.enum(ROLLOUT_STATUSES as readonly [RolloutStatus, ...RolloutStatus[]]).describe("validity of the generated rollout (always ok under constrained decoding)"),
  detail: z.string().describe("why the rollout is invalid; empty when ok"),
  logprobs: z
    .strictObject({
      slate: z.number().nullable().describe("sum of token log-probabilities over <SLATE> … </SLATE>"),
      rank: z.number().nullable().describe("sum over <RANK> … </RANK> <eos>"),
    })
    .describe("per-phase log-probabilities under the decoding distribution (masked by the grammar when constrained)"),
});
export type RankedRequest = z.infer<typeof rankedSchema>;

/** "candidates[1].id" from a zod path. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s === "" ? String(k) : `${s}.${String(k)}`), "");
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);
}

/**
 * Validates one request (a parsed JSON value). Throws an InputError naming the field (and the
 * file and line when given) of the first problem.
 */
export function parseRankRequest(value: unknown, schema: ReturnType<typeof requestSchema>, limits: RequestLimits, where: { file?: string; line?: number } = {}): RankRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("expected a JSON object", where);
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const known = issue.path.length === 0 ? Object.keys(schema.shape) : ["id", "text"];
      throw new InputError(`unknown field (expected ${known.join(", ")})`, { ...where, field: fieldName([...issue.path, issue.keys[0]!]) });
    }
    const field = fieldName(issue.path);
    const message = issue.code === "invalid_type" && valueAt(value, issue.path) === undefined ? "required" : issue.message;
    throw new InputError(message, { ...where, field: field === "" ? undefined : field });
  }
  // The schema is built per task, so its type is a union; these are the fields either holds.
  const v = r.data as { id: string; candidates: { id: string; text?: string }[]; history?: string[]; question?: string; n_max?: number; k_max?: number; greedy?: boolean; seed?: number; temperature?: number };
  const example: RankingExample = { id: v.id, task: limits.task, pool: v.candidates.map((c) => ({ id: c.id, text: c.text ?? "" })), relevant: new Map() };
  if (v.history !== undefined) example.history = v.history;
  if (v.question !== undefined) example.question = v.question;
  const nMax = Math.min(v.n_max ?? limits.layout.nMax, example.pool.length);
  return {
    example,
    nMax,
    kMax: Math.min(v.k_max ?? limits.layout.kMax, nMax),
    decoding: { greedy: v.greedy ?? true, seed: v.seed ?? 0, temperature: v.temperature ?? 1 },
  };
}
