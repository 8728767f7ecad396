import { join } from "node:path";
import type { Command } from "../main.js";
import { parseCommand, type CommandSpec } from "../args.js";
import { refuseDataParallel } from "../launch.js";
import { applyOverrides, parseConfig } from "../../fgrpo/trainer/config.js";
import { runComparison } from "../../fgrpo/trainer/compare.js";
import { DEMO_CONFIG, DEMO_METHODS, DEMO_TEST_EXAMPLES } from "../../fgrpo/trainer/demo-config.js";
import { loadReportInputs, renderReport } from "../../report/build.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { formatSeconds } from "../../util/progress.js";
import { printComparison } from "./compare.js";

const spec: CommandSpec = {
  name: "demo",
  summary: "train a small model from scratch on the bundled Games data (SFT, then F-GRPO and GRPO), compare with classic baselines on held-out users, write a report",
  usage: "fgrpo demo [--output DIR] [--set key=value …]",
  options: {
    output: { type: "string", valueName: "DIR", description: "where runs, comparison.json and report.html go (default runs/demo)" },
    set: { type: "string", multiple: true, valueName: "KEY=VALUE", description: "override a field of the demo config (see configs/demo.json)" },
    quiet: { type: "boolean", description: "no progress bars" },
  },
};

const demo: Command = {
  summary: spec.summary,
  async run(argv) {
    refuseDataParallel("demo", argv);
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const dir = (parsed.values.output as string | undefined) ?? DEMO_CONFIG.output_dir;
    const config = parseConfig(applyOverrides({ ...DEMO_CONFIG, output_dir: dir }, (parsed.values.set as string[] | undefined) ?? []), "demo config");
    const t0 = performance.now();
    console.error(`fgrpo demo: ${DEMO_METHODS.join(", ")} on the bundled Amazon Games subset → ${dir}`);
    const comparison = runComparison(config, {
      methods: DEMO_METHODS,
      seeds: [config.seed],
      dir,
      split: "test",
      examples: DEMO_TEST_EXAMPLES,
      title: "fgrpo demo: Amazon Games (bundled subset), held-out test users",
      hooks: { quiet: Boolean(parsed.values.quiet) },
    });
    console.log("");
    printComparison(comparison, ["ndcg@1", "ndcg@5", "recall@5", "slate_recall"]);
    const report = join(dir, "report.html");
    writeFileAtomic(report, renderReport(loadReportInputs([dir]), comparison.title));
    console.log(`\nreport: ${report}\ntime: ${formatSeconds((performance.now() - t0) / 1000)}`);
    return 0;
  },
};
export default demo;
