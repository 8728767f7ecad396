// Tables about the runs themselves: the config summary, final validation results, and the
// warnings and non-finite values the trainer logged (shown so that nothing is lost silently).
import type { RunData } from "./inputs.js";
import { escapeHtml } from "./escape.js";
import { fmtMetric, fmtValue, MISSING } from "./format.js";

/** Reads a dotted path such as "rl.method" from the config, undefined where absent. */
function configValue(config: Record<string, unknown>, path: string): unknown {
  let v: unknown = config;
  for (const part of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function modelSummary(config: Record<string, unknown>): string {
  const checkpoint = configValue(config, "model.checkpoint");
  if (typeof checkpoint === "string") return checkpoint;
  const hidden = configValue(config, "model.hidden_size");
  const layers = configValue(config, "model.num_layers");
  return hidden === undefined && layers === undefined ? MISSING : `new: ${fmtValue(layers)} layers × ${fmtValue(hidden)}`;
}

const CONFIG_ROWS: [label: string, path: string][] = [
  ["name", "name"],
  ["task", "task.task"],
  ["RL method", "rl.method"],
  ["seed", "seed"],
  ["SFT max_steps", "sft.max_steps"],
  ["RL max_steps", "rl.max_steps"],
  ["prompts_per_step", "rl.prompts_per_step"],
  ["num_generations", "rl.num_generations"],
  ["RL learning_rate", "rl.learning_rate"],
  ["rank_weight (λ)", "rl.rank_weight"],
  ["beta (KL)", "rl.beta"],
];

function lastStep(run: RunData, phase: "sft" | "rl"): string {
  const steps = run[phase]?.steps;
  if (run[phase] === null) return "no log";
  return steps!.length === 0 ? "0 steps" : `${steps!.length} steps (last ${steps![steps!.length - 1]!.step})`;
}

function nonFiniteCount(run: RunData): number {
  return [run.sft, run.rl].reduce((n, p) => n + (p?.steps.reduce((m, s) => m + s.nonFinite.length, 0) ?? 0), 0);
}

/** Runs as columns, config fields and log facts as rows. */
export function overviewTable(runs: RunData[]): string {
  const rows: [string, string[]][] = [
    ["directory", runs.map((r) => r.dir)],
    ...CONFIG_ROWS.map(([label, path]): [string, string[]] => [label, runs.map((r) => fmtValue(configValue(r.config, path)))]),
    ["model", runs.map((r) => modelSummary(r.config))],
    ["SFT log", runs.map((r) => lastStep(r, "sft"))],
    ["RL log", runs.map((r) => lastStep(r, "rl"))],
    ["results.json", runs.map((r) => (r.results === null ? "missing (run unfinished?)" : `${r.results.eval_split ?? "?"} split, ${fmtValue(r.results.eval_examples)} examples`))],
    ["warnings", runs.map((r) => String((r.sft?.warnings.length ?? 0) + (r.rl?.warnings.length ?? 0)))],
    ["non-finite values", runs.map((r) => String(nonFiniteCount(r)))],
  ];
  const head = `<tr><th></th>${runs.map((r) => `<th>${escapeHtml(r.label)}</th>`).join("")}</tr>`;
  const body = rows.map(([label, cells]) => `<tr><th>${escapeHtml(label)}</th>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  return `<table class="overview" data-table="overview"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

function validityShare(counts: Record<string, number> | null | undefined): string {
  if (!counts) return MISSING;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return total === 0 ? MISSING : `${(((counts.ok ?? 0) / total) * 100).toFixed(1)}%`;
}

/** results.json of each run: the final validation means after SFT and after RL. */
export function resultsTable(runs: RunData[]): string | null {
  const rows = runs.flatMap((run) =>
    (["sft", "rl"] as const).flatMap((phase) => {
      const means = run.results?.[phase];
      return means ? [{ run, phase, means, validity: run.results?.[`${phase}_validity`] }] : [];
    }),
  );
  if (rows.length === 0) return null;
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.means)))];
  const head = `<tr><th>run</th><th>after</th>${metrics.map((m) => `<th>${escapeHtml(m)}</th>`).join("")}<th>valid</th></tr>`;
  const body = rows
    .map((r) => `<tr><th>${escapeHtml(r.run.label)}</th><td>${r.phase.toUpperCase()}</td>${metrics.map((m) => `<td class="num">${fmtMetric(r.means[m])}</td>`).join("")}<td class="num">${validityShare(r.validity)}</td></tr>`)
    .join("");
  return `<table class="results" data-table="results"><caption>Final validation (results.json)</caption><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Warning records, per run and phase, in a collapsed list. */
export function warningsList(runs: RunData[]): string | null {
  const items = runs.flatMap((run) =>
    [run.sft, run.rl].flatMap((p) => (p?.warnings ?? []).map((w) => `<li><b>${escapeHtml(run.label)}</b> ${p!.phase.toUpperCase()} step ${w.step}: ${escapeHtml(w.message)}</li>`)),
  );
  if (items.length === 0) return null;
  return `<details class="warnings"><summary>${items.length} warning${items.length === 1 ? "" : "s"} logged during training</summary><ul>${items.join("")}</ul></details>`;
}
