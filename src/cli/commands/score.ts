import type { Command } from "../main.js";
import { InputError } from "../../util/errors.js";
import { fmt, metricTable, table } from "../format.js";
import { intOption, parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { DEFAULT_METRICS, evaluateRun, parseMetricName, type EvalSummary } from "../../eval/metrics.js";
import { readGoldFile, readRunFile } from "../../eval/run-files.js";

const MAX_BOOTSTRAP = 100_000;

const spec: CommandSpec = {
  name: "score",
  summary: "score a run file against gold judgments (trec_eval definitions, 95% bootstrap CIs)",
  usage: "fgrpo score --run RUN --gold GOLD [--metrics ndcg@1,ndcg@3,...] [--per-query] [--json]",
  options: {
    run: { type: "string", valueName: "FILE", description: "run: JSONL {id, ranking, slate?} or TREC run (qid Q0 doc rank score tag)" },
    gold: { type: "string", valueName: "FILE", description: "gold: JSONL {id, relevant: {doc: grade}} or TREC qrels (qid 0 doc rel)" },
    metrics: {
      type: "string",
      valueName: "LIST",
      description: `comma-separated metrics (default ${DEFAULT_METRICS.join(",")}, plus slate_recall when every run entry has a slate)`,
    },
    "per-query": { type: "boolean", description: "also print every query's scores" },
    json: { type: "boolean", description: "print JSON: one object metric → mean (per-query lines first with --per-query)" },
    bootstrap: { type: "string", valueName: "N", description: "bootstrap resamples for the CIs (default 1000)" },
    seed: { type: "string", valueName: "N", description: "seed of the bootstrap (default 0)" },
  },
};

function metricList(values: Record<string, unknown>, slatesEverywhere: boolean): string[] {
  if (values.metrics === undefined) return slatesEverywhere ? [...DEFAULT_METRICS, "slate_recall"] : [...DEFAULT_METRICS];
  const names = String(values.metrics).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError("--metrics is empty");
  try {
    return [...new Set(names.map((n) => parseMetricName(n).name))];
  } catch (e) {
    throw new UsageError(`--metrics: ${(e as Error).message}`);
  }
}

function countsLine(s: EvalSummary): string {
  return (
    `queries: ${s.numQueries} in gold; missing from run (scored 0): ${s.missingFromRun}; ` +
    `run queries not in gold (ignored): ${s.notInGold}; unjudged ranked documents: ${s.unjudgedInRun}`
  );
}

const score: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const { values } = parsed;
    const runFile = requireString(values, "run");
    const goldFile = requireString(values, "gold");
    const samples = intOption(values, "bootstrap", 1000);
    // Bounded: each resample is a pass over every query; 100,000 already gives CIs far finer than
    // their own sampling error, and a larger number only makes the command run for hours.
    if (samples < 0 || samples > MAX_BOOTSTRAP) throw new UsageError(`--bootstrap must be between 0 and ${MAX_BOOTSTRAP}, got ${samples}`);
    const seed = intOption(values, "seed", 0);
    const run = readRunFile(runFile);
    const gold = readGoldFile(goldFile);
    if (gold.size === 0) throw new InputError("no judgments: the gold file is empty, so no metric can be computed", { file: goldFile });
    const slatesEverywhere = run.size > 0 && [...run.values()].every((r) => r.slate !== undefined);
    const metrics = metricList(values, slatesEverywhere);
    if (metrics.includes("slate_recall") && !slatesEverywhere) {
      throw new UsageError(`slate_recall needs a slate for every query in ${runFile}`);
    }
    const summary = evaluateRun(run, gold, metrics, { bootstrapSamples: samples, seed });
    if (values.json) {
      if (values["per-query"]) for (const [id, row] of summary.perQuery) console.log(JSON.stringify({ id, ...row }));
      console.log(JSON.stringify(Object.fromEntries(metrics.map((m) => [m, summary.metrics[m]!.mean]))));
      console.error(countsLine(summary));
      return 0;
    }
    if (values["per-query"]) {
      const rows = [["query", ...metrics]];
      for (const [id, row] of summary.perQuery) rows.push([id, ...metrics.map((m) => fmt(row[m]!))]);
      console.log(table(rows) + "\n");
    }
    console.log(metricTable(summary, metrics));
    console.log(countsLine(summary));
    return 0;
  },
};
export default score;
