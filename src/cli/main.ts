#!/usr/bin/env node
// The `fgrpo` command: dispatches to one module per subcommand, loaded on demand so that
// commands which do not need the tensor engine start without loading libtorch.
import { InputError } from "../util/errors.js";
import { UsageError } from "./args.js";

export interface Command {
  summary: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import("./commands/demo.js")).default,
  generate: async () => (await import("./commands/generate.js")).default,
  train: async () => (await import("./commands/train.js")).default,
  eval: async () => (await import("./commands/eval.js")).default,
  rank: async () => (await import("./commands/rank.js")).default,
  serve: async () => (await import("./commands/serve.js")).default,
  compare: async () => (await import("./commands/compare.js")).default,
  score: async () => (await import("./commands/score.js")).default,
  baseline: async () => (await import("./commands/baseline.js")).default,
  report: async () => (await import("./commands/report.js")).default,
};

function mainHelp(): string {
  return [
    "fgrpo: train and evaluate generative rankers with F-GRPO",
    "",
    "usage: fgrpo <command> [options]   (fgrpo <command> --help for its options)",
    "",
    "commands:",
    ...Object.keys(commands).map((c) => `  ${c}`),
  ].join("\n");
}

/**
 * A file-system failure (ENOENT, EACCES, EISDIR, ENOSPC, …) is about the user's paths, not a bug:
 * one line naming the path. Anything else keeps its stack trace, which is what a bug report needs.
 */
function systemErrorMessage(e: unknown): string | null {
  if (!(e instanceof Error)) return null;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code !== "string" || !/^E[A-Z]+$/.test(err.code) || typeof err.syscall !== "string") return null;
  const path = err.path ?? (err as { dest?: string }).dest;
  return `${path !== undefined ? `${path}: ` : ""}${err.code}: cannot ${err.syscall} (${err.message.split(",")[0]})`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    // The kernels' instruction set comes from the addon, which loads libtorch: only here.
    const { buildInfo } = await import("../torch/index.js");
    const info = buildInfo();
    console.log(`0.1.0 (libtorch ${info.torchVersion}, kernels ${info.isa}; this CPU: ${info.isas.join(", ")})`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`fgrpo: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  const command = await load();
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fgrpo ${name}: ${e.message} (see fgrpo ${name} --help)`);
      return 2;
    }
    if (e instanceof InputError) {
      console.error(`fgrpo ${name}: ${e.message}`);
      return 1;
    }
    const system = systemErrorMessage(e);
    if (system !== null) {
      console.error(`fgrpo ${name}: ${system}`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Bad input found before a command's own handler (FGRPO_ISA, read when libtorch loads): one line.
    if (e instanceof InputError) console.error(`fgrpo: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 1;
  },
);
