/**
 * Serving a trained policy on users' own requests (`fgrpo rank`). One JSON object per line:
 *
 *   rec: {"id": "u1", "history": ["item", …], "candidates": [{"id": "item", "text": "title"}, …]}
 *   qa:  {"id": "q1", "question": "…",        "candidates": [{"id": "p1", "text": "title: passage"}, …]}
 *
 * Output, one line per request in input order: {"id", "ranking": [candidate ids, best first],
 * "slate": [candidate ids], "status": "ok" | taxonomy}. Every request is validated before any
 * decoding, so a malformed line fails the command with its file, line and field, and nothing is
 * written.
 */
import { readJsonl } from "../../util/jsonl.js";
import { InputError } from "../../util/errors.js";
import { generate } from "../../generation/generate.js";
import * as T from "../../torch/index.js";
import type { RankingExample, TaskName } from "../../tasks/types.js";
import { maxCompletionTokens } from "../layout.js";
import { batchConstraint, exampleEncoder } from "./data.js";
import type { TrainConfig } from "./config.js";
import type { PolicyModel } from "./policy.js";

export interface RankedRequest {
  id: string;
  ranking: string[];
  slate: string[];
  status: string;
}

/** Reads and validates a requests file for a task with pools of at most `maxPool` candidates. */
export function readRequests(file: string, task: TaskName, maxPool: number): RankingExample[] {
  const seen = new Set<string>();
  const records = readJsonl(file);
  if (records.length === 0) throw new InputError("no requests: the file is empty", { file });
  return records.map(({ line, value }) => {
    const where = (field: string) => ({ file, line, field });
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("expected a JSON object", { file, line });
    const v = value as Record<string, unknown>;
    if (typeof v.id !== "string" || v.id === "") throw new InputError("expected a non-empty string", where("id"));
    if (seen.has(v.id)) throw new InputError(`duplicate request id "${v.id}"`, where("id"));
    seen.add(v.id);
    if (!Array.isArray(v.candidates) || v.candidates.length === 0) throw new InputError("expected a non-empty array of {id, text}", where("candidates"));
    if (v.candidates.length > maxPool) throw new InputError(`${v.candidates.length} candidates; this model was trained on pools of at most ${maxPool}`, where("candidates"));
    const ids = new Set<string>();
    const pool = v.candidates.map((c, i) => {
      const cc = c as Record<string, unknown>;
      if (typeof cc !== "object" || cc === null || typeof cc.id !== "string" || cc.id === "") throw new InputError("each candidate needs a string id", where(`candidates[${i}].id`));
      if (ids.has(cc.id)) throw new InputError(`duplicate candidate id "${cc.id}"`, where(`candidates[${i}].id`));
      ids.add(cc.id);
      if (cc.text !== undefined && typeof cc.text !== "string") throw new InputError("expected a string", where(`candidates[${i}].text`));
      return { id: cc.id, text: (cc.text as string | undefined) ?? "" };
    });
    const example: RankingExample = { id: v.id, task, pool, relevant: new Map() };
    if (task === "rec") {
      if (!Array.isArray(v.history) || !v.history.every((h) => typeof h === "string")) throw new InputError("expected an array of item ids (strings)", where("history"));
      example.history = v.history as string[];
    } else {
      if (typeof v.question !== "string" || v.question.trim() === "") throw new InputError("expected a non-empty string", where("question"));
      example.question = v.question;
    }
    return example;
  });
}

/** Ranks requests with greedy decoding, each under the grammar automaton of its own pool. */
export function rankRequests(policy: PolicyModel, config: TrainConfig, requests: RankingExample[], opts: { constrained: boolean; batchSize?: number }): RankedRequest[] {
  const encode = exampleEncoder(config, policy.vocab);
  const out: RankedRequest[] = [];
  const batch = opts.batchSize ?? 64;
  for (let s = 0; s < requests.length; s += batch) {
    const encoded = requests.slice(s, s + batch).map(encode);
    const gen = T.noGrad(() =>
      generate(policy.model, encoded.map((e) => e.promptIds), {
        maxNewTokens: Math.max(...encoded.map((e) => maxCompletionTokens(e.codec.layout))),
        greedy: true,
        stopTokens: [policy.vocab.eosId],
        constraint: opts.constrained ? batchConstraint(encoded) : undefined,
      }),
    );
    encoded.forEach((e, k) => {
      const parsed = e.codec.parse(gen.completions[k]!);
      const ids = (positions: number[]) => positions.map((p) => e.example.pool[p - 1]?.id).filter((x): x is string => x !== undefined);
      out.push({ id: e.example.id, ranking: ids(parsed.ranking), slate: ids(parsed.slate), status: parsed.status });
    });
  }
  return out;
}
