import type { Command } from "../main.js";
import { parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { fmt, table } from "../format.js";
import { refuseDataParallel } from "../launch.js";
import { applyOverrides, parseConfig, readConfigFile } from "../../fgrpo/trainer/config.js";
import { COMPARE_METHODS, runComparison, type Comparison } from "../../fgrpo/trainer/compare.js";

const spec: CommandSpec = {
  name: "compare",
  summary: "train and evaluate several methods at equal budget over seeds; a table with 95% CIs and paired tests against F-GRPO",
  usage: "fgrpo compare --config FILE [--methods fgrpo,grpo,gspo,sft,decoupled-sft,…] [--seeds N|LIST] [--split test] [--examples N] [--output DIR] [--set k=v …]",
  options: {
    config: { type: "string", valueName: "FILE", description: "the base training config (every method shares its budget)" },
    methods: { type: "string", valueName: "LIST", description: `comma-separated, from: ${COMPARE_METHODS.join(", ")}, or variants named in the config's compare.rl_overrides (default: the config's compare.methods)` },
    seeds: { type: "string", valueName: "N|LIST", description: "N: seeds seed..seed+N−1; a comma-separated list: those seeds (default: the config's compare.seeds, else its seed); per-query scores are pooled over seeds" },
    split: { type: "string", valueName: "NAME", description: "evaluation split: test (default) or valid" },
    examples: { type: "string", valueName: "N", description: "evaluate the first N examples of the split (default all)" },
    output: { type: "string", valueName: "DIR", description: "where runs and comparison.json go (default <output_dir>/compare)" },
    set: { type: "string", multiple: true, valueName: "KEY=VALUE", description: "override a config field" },
    quiet: { type: "boolean", description: "no progress bars" },
  },
};

export function printComparison(c: Comparison, metrics: readonly string[]): void {
  const rows = [["method", ...metrics.map((m) => `${m} [95% CI]`), ...metrics.map((m) => `Δ${m} vs ${c.reference} (p)`)]];
  for (const r of c.rows) {
    rows.push([
      r.method,
      ...metrics.map((m) => `${fmt(r.metrics[m]!.mean)} [${fmt(r.metrics[m]!.ciLow)}, ${fmt(r.metrics[m]!.ciHigh)}]`),
      ...metrics.map((m) => (r.vsReference ? `${r.vsReference[m]!.meanDiff >= 0 ? "+" : ""}${fmt(r.vsReference[m]!.meanDiff)} (${r.vsReference[m]!.pValue.toFixed(3)})` : "—")),
    ]);
  }
  console.log(`${c.title}\n${c.split} split, ${c.examples} examples × ${c.seeds.length} seed(s)\n`);
  console.log(table(rows));
}

function positiveInt(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${String(v)}"`);
  return n;
}

/** `--seeds N` (seeds seed..seed+N−1) or `--seeds 0,1,2` (those seeds); absent: `fallback`. */
export function parseSeeds(v: unknown, fallback: number[], first: number): number[] {
  if (v === undefined) return fallback;
  const text = String(v);
  if (!text.includes(",")) return Array.from({ length: positiveInt(text, "seeds", 1) }, (_, i) => first + i);
  const seeds = text.split(",").map((x) => x.trim()).filter((x) => x !== "").map(Number);
  if (seeds.length === 0 || seeds.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--seeds must be a count or a comma-separated list of non-negative integers, got "${text}"`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds lists a seed twice: "${text}"`);
  return seeds;
}

const compare: Command = {
  summary: spec.summary,
  async run(argv) {
    refuseDataParallel("compare", argv);
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const { values } = parsed;
    const file = requireString(values, "config");
    const config = parseConfig(applyOverrides(readConfigFile(file), (values.set as string[] | undefined) ?? []), file);
    const methods = values.methods === undefined ? config.compare.methods : requireString(values, "methods").split(",").map((m) => m.trim()).filter(Boolean);
    if (methods.length === 0) throw new UsageError("name the methods with --methods or in the config's compare.methods");
    if (new Set(methods).size !== methods.length) throw new UsageError("--methods lists a method twice");
    const split = (values.split as string | undefined) ?? "test";
    if (split !== "test" && split !== "valid") throw new UsageError(`--split must be test or valid, got "${split}"`);
    const seeds = parseSeeds(values.seeds, config.compare.seeds.length > 0 ? config.compare.seeds : [config.seed], config.seed);
    const examples = values.examples === undefined ? null : positiveInt(values.examples, "examples", 1);
    const dir = (values.output as string | undefined) ?? `${config.output_dir}/compare`;
    try {
      const c = runComparison(config, { methods, seeds, dir, split, examples, hooks: { quiet: Boolean(values.quiet) } });
      printComparison(c, ["ndcg@1", "ndcg@5", "recall@5", "slate_recall"]);
      console.log(`\nwrote ${dir}/comparison.json (fgrpo report ${dir} --output report.html)`);
      return 0;
    } catch (e) {
      if ((e as Error).message.startsWith("unknown method")) throw new UsageError((e as Error).message);
      throw e;
    }
  },
};
export default compare;
