// Validation curves of decoupled pipelines' SFT stages (docs/results-rl-study.md, section 3):
// for each pipeline folder, its selector and ranker stage validations (the chained pipeline on the
// run's validation set) and the step the stage ended on (the best, with load_best_model_at_end);
// results_ndcg5 is the results.json score, on results_examples examples (the last compare's split).
// Usage: node scripts/experiments/stage-curves.mjs [--json OUT.json] PIPELINE_DIR …
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
let jsonOut = null;
if (args[0] === "--json") { jsonOut = args[1]; args.splice(0, 2); }
const out = args.map((dir) => {
  const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
  const stages = {};
  for (const stage of ["selector", "ranker"]) {
    const file = `${dir}/${stage}/metrics.jsonl`;
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const curve = lines.filter((l) => l.validation).map((l) => ({ step: l.step, ndcg5: l.validation["ndcg@5"], slate_recall: l.validation.slate_recall }));
    const metric = stage === "selector" ? "slate_recall" : "ndcg5";
    const best = curve.reduce((b, c) => (b === null || c[metric] > b[metric] ? c : b), null);
    stages[stage] = { curve, steps: lines.filter((l) => l.loss !== undefined).length, best_step: best?.step ?? null, best_metric: metric };
  }
  const results = existsSync(`${dir}/results.json`) ? JSON.parse(readFileSync(`${dir}/results.json`, "utf8")) : null;
  return { run: dir, seed: config.seed, sft: { max_steps: config.sft.max_steps, learning_rate: config.sft.learning_rate, eval_every: config.sft.eval_every }, stages, results_ndcg5: results?.means?.["ndcg@5"] ?? null, results_examples: results?.eval_examples ?? null };
});
for (const r of out) {
  const s = Object.entries(r.stages).map(([k, v]) => `${k}: ${v.curve.map((c) => `${c.step}: ${c.ndcg5.toFixed(4)}/${c.slate_recall.toFixed(4)}`).join(", ")} (ended on step ${v.best_step} by ${v.best_metric})`).join("; ");
  console.log(`${r.run} seed ${r.seed}: ${s}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1));
