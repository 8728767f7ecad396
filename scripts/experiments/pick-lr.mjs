// Picks each method's learning rate from a grid of compare runs by the FINAL validation ndcg@5
// (the model that is tested), never test. Prints "method-lrX" variant names, comma-separated.
// Usage: node scripts/experiments/pick-lr.mjs SEED_DIR METHOD [METHOD …]   (variants METHOD-lr*)
import { readdirSync, readFileSync } from "node:fs";
const [dir, ...methods] = process.argv.slice(2);
const chosen = methods.map((m) => {
  const runs = readdirSync(dir).filter((d) => d.startsWith(`${m}-lr`)).map((d) => {
    const lines = readFileSync(`${dir}/${d}/rl/metrics.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.validation);
    return { d, final: lines.at(-1).validation["ndcg@5"] };
  });
  runs.sort((a, b) => b.final - a.final);
  console.error(`${m}: ${runs.map((r) => `${r.d} ${r.final.toFixed(4)}`).join(", ")} → ${runs[0].d}`);
  return runs[0].d;
});
console.log(chosen.join(","));
