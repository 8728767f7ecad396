import type { Command } from "../main.js";
import { intOption, numberOption, parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { openRanker } from "../../fgrpo/trainer/ranker.js";
import { DEFAULT_SERVE_OPTIONS as D, startServer } from "../../serve/server.js";

const spec: CommandSpec = {
  name: "serve",
  summary: "serve a trained policy over HTTP (POST /v1/rank) with dynamic batching",
  usage: "fgrpo serve --checkpoint DIR [--host 127.0.0.1] [--port 8080] [--max-batch 32] [--max-wait-ms 5]",
  options: {
    checkpoint: { type: "string", valueName: "DIR", description: "a policy folder written by training (what `fgrpo rank` takes)" },
    config: { type: "string", valueName: "FILE", description: "the training config (default: the nearest config.json above DIR)" },
    host: { type: "string", valueName: "HOST", description: `address to listen on (default ${D.host})` },
    port: { type: "string", valueName: "PORT", description: `port (default ${D.port}; 0 picks a free one)` },
    "max-batch": { type: "string", valueName: "N", description: `most requests per generation call (default ${D.maxBatch})` },
    "max-wait-ms": { type: "string", valueName: "MS", description: `longest a request waits for others to batch with (default ${D.maxWaitMs})` },
    "max-queue": { type: "string", valueName: "N", description: `most waiting requests; more get 503 (default ${D.maxQueue})` },
    "body-limit": { type: "string", valueName: "BYTES", description: `largest request body; larger get 413 (default ${D.bodyLimit})` },
    unconstrained: { type: "boolean", description: "decode without the grammar automaton" },
  },
};

function positive(values: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const n = intOption(values, name, fallback);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

const serve: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const v = parsed.values;
    const dir = requireString(v, "checkpoint");
    const port = positive(v, "port", D.port, 0);
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const maxWaitMs = numberOption(v, "max-wait-ms", D.maxWaitMs);
    if (maxWaitMs < 0) throw new UsageError(`--max-wait-ms must be non-negative, got ${maxWaitMs}`);
    const opts = {
      host: (v.host as string | undefined) ?? D.host,
      port,
      maxBatch: positive(v, "max-batch", D.maxBatch),
      maxWaitMs,
      maxQueue: positive(v, "max-queue", D.maxQueue),
      bodyLimit: positive(v, "body-limit", D.bodyLimit),
    };
    const ranker = openRanker(dir, { config: v.config as string | undefined, constrained: !v.unconstrained, batchSize: opts.maxBatch });
    try {
      const server = await startServer(ranker, opts);
      console.error(`fgrpo serve: listening on ${server.url} (${ranker.info.kind} from ${dir}; max batch ${opts.maxBatch}, max wait ${opts.maxWaitMs} ms)`);
      const signal = await new Promise<string>((resolve) => {
        for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve(s));
      });
      console.error(`fgrpo serve: ${signal}: no new requests; draining those in flight`);
      await server.close();
      console.error("fgrpo serve: stopped");
      return 0;
    } finally {
      ranker.dispose();
    }
  },
};
export default serve;
