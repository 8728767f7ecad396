import type { Command } from "../main.js";
import { parseCommand, type CommandSpec } from "../args.js";
import { applyOverrides, parseConfig, readConfigFile } from "../../fgrpo/trainer/config.js";
import { runTraining } from "../../fgrpo/trainer/run.js";

const spec: CommandSpec = {
  name: "train",
  summary: "SFT warm start then RL (F-GRPO by default) from a JSON config; resumes from the output_dir's last checkpoint",
  usage: "fgrpo train --config FILE [--set key=value …] [--quiet] [--print-config]",
  options: {
    config: { type: "string", valueName: "FILE", description: "JSON config (see the config reference in README.md); omit for all defaults" },
    set: { type: "string", multiple: true, valueName: "KEY=VALUE", description: "override a field, e.g. --set rl.method=grpo --set rl.max_steps=50" },
    quiet: { type: "boolean", description: "no progress bars" },
    "print-config": { type: "boolean", description: "print the resolved config (defaults filled in) as JSON and exit" },
  },
};

const train: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const file = parsed.values.config as string | undefined;
    const raw = file ? readConfigFile(file) : {};
    const config = parseConfig(applyOverrides(raw, (parsed.values.set as string[] | undefined) ?? []), file ?? "<defaults>");
    if (parsed.values["print-config"]) {
      console.log(JSON.stringify(config, null, 2));
      return 0;
    }
    const r = runTraining(config, { quiet: Boolean(parsed.values.quiet) });
    const show = (name: string, m: Record<string, number> | undefined) =>
      m && console.log(`${name}: ndcg@5 ${m["ndcg@5"]!.toFixed(4)}  recall@5 ${m["recall@5"]!.toFixed(4)}  hit@1 ${m["hit@1"]!.toFixed(4)}  slate_recall ${m.slate_recall!.toFixed(4)}`);
    show("after SFT", r.sft?.means);
    show(`after RL (${config.rl.method})`, r.rl?.means);
    console.log(`model: ${r.finalModel}\nrun: ${r.outputDir}`);
    return 0;
  },
};
export default train;
