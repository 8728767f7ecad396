/**
 * The server's Prometheus metrics (GET /metrics, text exposition format), in a registry of its
 * own so that several servers in one process (tests) do not share counters.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<"route" | "method" | "status">;
  latency: Histogram<"route">;
  batchSize: Histogram;
  batchSeconds: Histogram;
  queueLength: Gauge;
}

export function createMetrics(maxBatch: number): ServeMetrics {
  const registry = new Registry();
  const registers = [registry];
  const sizes: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) sizes.push(b);
  sizes.push(maxBatch);
  return {
    registry,
    requests: new Counter({ name: "fgrpo_serve_requests_total", help: "HTTP requests answered, by route, method and status code", labelNames: ["route", "method", "status"], registers }),
    latency: new Histogram({
      name: "fgrpo_serve_request_duration_seconds",
      help: "time from receiving a request to sending its answer",
      labelNames: ["route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchSize: new Histogram({ name: "fgrpo_serve_batch_size", help: "requests per batch (one generation call per decoding setting among them)", buckets: sizes, registers }),
    batchSeconds: new Histogram({ name: "fgrpo_serve_batch_duration_seconds", help: "time to answer one batch", buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers }),
    queueLength: new Gauge({ name: "fgrpo_serve_queue_length", help: "requests waiting for a generation call", registers }),
  };
}
