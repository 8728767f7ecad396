/**
 * The OpenAPI 3.1 description served at /openapi.json, generated from the same zod schemas
 * that validate requests (OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits).
 */
import { z } from "zod/v4";
import { rankedSchema } from "../fgrpo/trainer/request-schema.js";
import type { Ranker } from "../fgrpo/trainer/ranker.js";

/** A JSON schema without its "$schema" line (OpenAPI sets the dialect once). */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const errorSchema = {
  type: "object",
  properties: { statusCode: { type: "integer" }, error: { type: "string" }, message: { type: "string", description: "what is wrong, naming the field" } },
  required: ["statusCode", "error", "message"],
};

export function openApiDocument(ranker: Ranker, version: string): Record<string, unknown> {
  const { task, layout } = ranker.limits;
  const error = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
  return {
    openapi: "3.1.0",
    info: {
      title: "fgrpo serve",
      version,
      description: `Generates a slate from a pool of candidates and ranks it in one pass (task ${task}, pools of at most ${layout.poolSize}, n_max ${layout.nMax}, k_max ${layout.kMax}).`,
    },
    paths: {
      "/v1/rank": {
        post: {
          summary: "rank one request",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/RankRequest" } } } },
          responses: {
            200: { description: "the slate and ranking", content: { "application/json": { schema: { $ref: "#/components/schemas/RankResponse" } } } },
            400: error("malformed JSON or a request that does not fit the schema or the model (the message names the field)"),
            413: error("the body is larger than the server's limit"),
            415: error("the body is not application/json"),
            503: error("the queue is full, or the server is shutting down"),
          },
        },
      },
      "/healthz": { get: { summary: "liveness and the loaded model", responses: { 200: { description: "serving" }, 503: { description: "shutting down" } } } },
      "/metrics": { get: { summary: "Prometheus metrics (text exposition format)", responses: { 200: { description: "metrics", content: { "text/plain": {} } } } } },
      "/openapi.json": { get: { summary: "this document", responses: { 200: { description: "OpenAPI 3.1" } } } },
    },
    components: { schemas: { RankRequest: jsonSchema(ranker.schema), RankResponse: jsonSchema(rankedSchema), Error: errorSchema } },
  };
}
