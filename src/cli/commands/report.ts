import type { Command } from "../main.js";
import { checkOutputFile } from "../../util/output-path.js";
import { parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { chartIds, loadReportInputs, renderReport } from "../../report/build.js";
import { writeFileAtomic } from "../../util/atomic-write.js";

const spec: CommandSpec = {
  name: "report",
  summary: "write one offline HTML file summarising training runs and comparisons",
  usage: "fgrpo report RUN_DIR... --output FILE [--title TITLE]",
  positionals: true,
  options: {
    output: { type: "string", valueName: "FILE", description: "the HTML file to write (replaced atomically)" },
    title: { type: "string", valueName: "TITLE", description: 'page title (default "fgrpo report")' },
  },
};

const report: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new UsageError("give at least one run or comparison directory");
    const output = requireString(values, "output");
    checkOutputFile(output, { field: "--output" });
    const title = values.title === undefined ? undefined : String(values.title);
    if (title === "") throw new UsageError("--title is empty");
    // Everything is loaded and rendered before the file is touched, so an input error leaves
    // an existing report in place.
    const inputs = loadReportInputs(positionals);
    const html = renderReport(inputs, title);
    writeFileAtomic(output, html);
    const charts = chartIds(html).length;
    console.error(`wrote ${output}: ${inputs.runs.length} run(s), ${inputs.comparisons.length} comparison(s), ${charts} charts`);
    return 0;
  },
};
export default report;
