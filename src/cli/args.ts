import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: the CLI prints the message and the command's help, and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { description: string; valueName?: string };

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether the command takes positional arguments; without it any positional is a UsageError. */
  positionals?: boolean;
}

/** Formats `fgrpo <name> --help`. */
export function helpText(spec: CommandSpec): string {
  const lines = [`fgrpo ${spec.name}: ${spec.summary}`, "", `usage: ${spec.usage}`, "", "options:"];
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = `--${name}${o.type === "string" ? ` ${o.valueName ?? "VALUE"}` : ""}`;
    lines.push(`  ${flag.padEnd(28)} ${o.description}`);
  }
  lines.push(`  ${"--help".padEnd(28)} show this help`);
  return lines.join("\n");
}

/**
 * Parses argv against a command spec. Unknown flags and missing values are UsageErrors.
 * Returns null when --help was asked for (the help has been printed).
 */
export function parseCommand(spec: CommandSpec, argv: string[]): { values: Record<string, unknown>; positionals: string[] } | null {
  const options: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean" } };
  for (const [name, o] of Object.entries(spec.options)) {
    const { description: _d, valueName: _v, ...rest } = o;
    options[name] = rest;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    // node's messages can span lines ("ambiguous" values like -5 come with two lines of advice).
    const [first, ...rest] = (e as Error).message.split("\n");
    const dash = rest.find((l) => l.includes("=-XYZ"));
    throw new UsageError(dash ? `${first} (write a negative value as --name=-5)` : first!);
  }
  if (parsed.values.help) {
    console.log(helpText(spec));
    return null;
  }
  if (!spec.positionals && parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals };
}

/** Reads a required string option. */
export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

/** Parses an integer option, with a message naming the flag. */
export function intOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${String(v)}"`);
  return n;
}

/** Parses a number option, with a message naming the flag. */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${String(v)}"`);
  return n;
}
