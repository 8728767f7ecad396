import type { Command } from "../main.js";
import { checkOutputFile } from "../../util/output-path.js";
import { parseCommand, requireString, type CommandSpec } from "../args.js";
import { findRunConfig } from "../../fgrpo/trainer/checkpoint-config.js";
import { openRanker } from "../../fgrpo/trainer/ranker.js";
import { readRequests, requestLimits } from "../../fgrpo/trainer/requests.js";
import { writeFileAtomic } from "../../util/atomic-write.js";

const spec: CommandSpec = {
  name: "rank",
  summary: "rank your own requests (a history or question plus candidates) with a trained policy",
  usage: "fgrpo rank --checkpoint DIR --input requests.jsonl --output ranked.jsonl [--unconstrained]",
  options: {
    checkpoint: { type: "string", valueName: "DIR", description: "a policy folder written by training (e.g. runs/demo/final)" },
    config: { type: "string", valueName: "FILE", description: "the training config (default: the nearest config.json above DIR)" },
    input: {
      type: "string",
      valueName: "FILE",
      description: 'JSONL requests: {"id", "history": [...] | "question": "...", "candidates": [{"id", "text"}]}, optional "n_max", "k_max", "greedy", "seed", "temperature"',
    },
    output: { type: "string", valueName: "FILE", description: 'JSONL output: {"id", "ranking", "slate", "status", "detail", "logprobs"}, written only when every request succeeded' },
    unconstrained: { type: "boolean", description: "decode without the grammar automaton" },
  },
};

const rank: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const dir = requireString(parsed.values, "checkpoint");
    const input = requireString(parsed.values, "input");
    const output = requireString(parsed.values, "output");
    checkOutputFile(output, { field: "--output" });
    const runConfig = findRunConfig(dir, parsed.values.config as string | undefined);
    // Bad requests fail before the model is loaded (the limits come from the run's config).
    const requests = readRequests(input, requestLimits(runConfig));
    const ranker = openRanker(dir, { runConfig, constrained: !parsed.values.unconstrained });
    try {
      const ranked = ranker.rank(requests);
      writeFileAtomic(output, ranked.map((r) => JSON.stringify(r) + "\n").join(""));
      const invalid = ranked.filter((r) => r.status !== "ok").length;
      console.error(`ranked ${ranked.length} requests → ${output}${invalid ? ` (${invalid} invalid outputs, see "status")` : ""}`);
      return 0;
    } finally {
      ranker.dispose();
    }
  },
};
export default rank;
