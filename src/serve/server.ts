/**
 * `fgrpo serve`'s HTTP service (fastify): POST /v1/rank answers one ranking request through
 * the dynamic batcher; GET /healthz, /metrics (Prometheus) and /openapi.json.
 *
 * Bad input never reaches the model: the body is parsed here (malformed JSON is a 400 with the
 * parser's position), validated by the same schema as `fgrpo rank`'s lines (a 400 naming the
 * field), bounded in size (413); every error is a JSON {statusCode, error, message}. An error
 * inside a handler answers 500 for that request only. `close()` stops accepting connections,
 * lets queued and running requests finish, then resolves.
 */
import { STATUS_CODES } from "node:http";
import { InputError } from "../util/errors.js";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { parseRankRequest, type RankRequest } from "../fgrpo/trainer/request-schema.js";
import type { Ranker } from "../fgrpo/trainer/ranker.js";
import type { RankedRequest } from "../fgrpo/trainer/requests.js";
import { Batcher } from "./batcher.js";
import { createMetrics, type ServeMetrics } from "./metrics.js";
import { jsonSchema, openApiDocument } from "./openapi.js";

export interface ServeOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Most requests per generation call. */
  maxBatch: number;
  /** Longest a request waits for others before its batch runs, in ms. */
  maxWaitMs: number;
  /** Most requests waiting; more are answered 503. */
  maxQueue: number;
  /** Largest request body, in bytes; larger ones are answered 413. */
  bodyLimit: number;
}

export const DEFAULT_SERVE_OPTIONS: Readonly<ServeOptions> = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  maxBatch: 32,
  maxWaitMs: 5,
  maxQueue: 1024,
  bodyLimit: 1024 * 1024,
});

export interface RankServer {
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  metrics: ServeMetrics;
  /** Stops accepting, drains the queued and running requests, then resolves. */
  close(): Promise<void>;
}

function httpError(statusCode: number, message: string): FastifyError {
  return Object.assign(new Error(message), { statusCode, code: "FGRPO_SERVE" }) as FastifyError;
}

export async function startServer(ranker: Ranker, options: Partial<ServeOptions> = {}): Promise<RankServer> {
  const opts = { ...DEFAULT_SERVE_OPTIONS, ...options };
  const metrics = createMetrics(opts.maxBatch);
  const batcher = new Batcher<RankRequest, RankedRequest>((items) => ranker.rank(items), opts, {
    batch: (size, seconds) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(seconds);
    },
    queue: (length) => metrics.queueLength.set(length),
  });
  let closing = false;
  const app = Fastify({ bodyLimit: opts.bodyLimit, requestTimeout: 30_000, return503OnClosing: true, forceCloseConnections: "idle", logger: false });

  // JSON only (no text/plain: 415), by our own parser whose message says where the JSON breaks.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(httpError(400, `malformed JSON body: ${(e as Error).message}`), undefined);
    }
  });
  // Bodies are validated by the request schema of `fgrpo rank` (its messages name the field).
  app.setValidatorCompiler(() => (data: unknown) => {
    try {
      return { value: parseRankRequest(data, ranker.schema, ranker.limits) };
    } catch (e) {
      return { error: httpError(400, (e as Error).message) };
    }
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500 && status !== 503) console.error(`fgrpo serve: ${request.method} ${request.url}: ${err.stack ?? err.message}`);
    const message = status === 500 ? "internal error (logged by the server)" : err.code === "FST_ERR_CTP_BODY_TOO_LARGE" ? `request body larger than the server's limit of ${opts.bodyLimit} bytes` : err.message;
    void reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? "Error", message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ statusCode: 404, error: "Not Found", message: `no route ${request.method} ${request.url.split("?")[0]} (see /openapi.json)` });
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.post("/v1/rank", { schema: { body: jsonSchema(ranker.schema) } }, async (request) => {
    if (closing) throw httpError(503, "the server is shutting down");
    return batcher.submit(request.body as RankRequest);
  });
  app.get("/healthz", async (_request, reply) => {
    const { task, layout } = ranker.limits;
    void reply.code(closing ? 503 : 200);
    return { status: closing ? "shutting down" : "ok", ...ranker.info, task, pool_size: layout.poolSize, n_max: layout.nMax, k_max: layout.kMax, queue_length: batcher.length };
  });
  app.get("/metrics", async (_request, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  const openapi = openApiDocument(ranker, "1.0.0");
  app.get("/openapi.json", async () => openapi);

  let url: string;
  try {
    url = await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    await app.close();
    throw new InputError(`cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`);
  }
  return {
    app,
    url,
    metrics,
    close: async () => {
      closing = true;
      await app.close();
    },
  };
}
