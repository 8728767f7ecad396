import type { Command } from "../main.js";
import { intOption, parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { metricTable, table } from "../format.js";
import { findRunConfig } from "../../fgrpo/trainer/checkpoint-config.js";
import { setupTask } from "../../fgrpo/trainer/data.js";
import { disposePolicy, loadPolicy } from "../../fgrpo/trainer/policy.js";
import { EVAL_METRICS, evaluatePolicy } from "../../fgrpo/trainer/evaluate.js";
import { writeRunJsonl } from "../../eval/run-files.js";
import { Progress } from "../../util/progress.js";

const spec: CommandSpec = {
  name: "eval",
  summary: "evaluate a trained policy with greedy decoding: ranking metrics with 95% CIs and the validity taxonomy",
  usage: "fgrpo eval --checkpoint DIR --split valid|test [--limit N] [--unconstrained] [--write-run FILE] [--json]",
  options: {
    checkpoint: { type: "string", valueName: "DIR", description: "a policy folder written by training (e.g. runs/demo/final, runs/demo/rl/checkpoints/best/model)" },
    config: { type: "string", valueName: "FILE", description: "the training config (default: the nearest config.json above DIR)" },
    split: { type: "string", valueName: "NAME", description: "valid or test (default test)" },
    limit: { type: "string", valueName: "N", description: "evaluate the first N examples of the split" },
    unconstrained: { type: "boolean", description: "decode without the grammar automaton (invalid outputs are scored as parsed)" },
    "write-run": { type: "string", valueName: "FILE", description: "also write the rankings as a JSONL run for `fgrpo score`" },
    json: { type: "boolean", description: "print one JSON object: metrics with CIs, validity counts, examples" },
    quiet: { type: "boolean", description: "no progress bar" },
  },
};

const evalCommand: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const { values } = parsed;
    const dir = requireString(values, "checkpoint");
    const split = (values.split as string | undefined) ?? "test";
    if (split !== "valid" && split !== "test") throw new UsageError(`--split must be valid or test, got "${split}"`);
    const limit = values.limit === undefined ? undefined : intOption(values, "limit", 0);
    if (limit !== undefined && limit < 1) throw new UsageError("--limit must be ≥ 1");
    const config = findRunConfig(dir, values.config as string | undefined);
    const policy = loadPolicy(dir, config);
    try {
      const task = setupTask(config, policy.codec);
      const examples = task.evalExamples(split, limit);
      const progress = new Progress("eval", examples.length, { quiet: Boolean(values.quiet) || Boolean(values.json) });
      const r = evaluatePolicy(policy, task, examples, { constrained: !values.unconstrained, seed: config.seed, onProgress: (d) => progress.update(d) });
      if (values["write-run"]) writeRunJsonl(String(values["write-run"]), r.runs);
      if (values.json) {
        console.log(JSON.stringify({ split, examples: examples.length, metrics: r.summary.metrics, validity: r.statusCounts }));
        return 0;
      }
      console.log(`${config.task.task} ${split}: ${examples.length} examples, greedy decoding${values.unconstrained ? " (unconstrained)" : " (constrained)"}`);
      console.log(metricTable(r.summary, EVAL_METRICS));
      console.log("\nvalidity:\n" + table([["status", "count"], ...Object.entries(r.statusCounts).map(([k, v]) => [k, String(v)])]));
      return 0;
    } finally {
      disposePolicy(policy);
    }
  },
};
export default evalCommand;
