// Summarises RL runs for docs/results-rl-study.md: the validation curve (ndcg@5 against rollouts
// seen; runs logged before `rollouts_seen` existed get step × prompts_per_step × num_generations),
// and per-phase advantage, zero-variance and clipping statistics averaged over the steps.
// Usage: node scripts/experiments/summarise-rl.mjs [--json OUT.json] RUN_DIR …  (unified runs, or
// decoupled-rl pipelines: their selector-rl and ranker-rl logs, joined)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";

const args = process.argv.slice(2);
let jsonOut = null;
if (args[0] === "--json") { jsonOut = args[1]; args.splice(0, 2); }
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
// Mean of a field over the first (end 0) or last (end -1) 10 steps that log it.
const firstLast = (steps, k, end) => { const xs = steps.filter((s) => typeof s[k] === "number").map((s) => s[k]); return mean(end === 0 ? xs.slice(0, 10) : xs.slice(-10)); };
const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const out = [];
for (const dir of args) {
  const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
  const perStep = config.rl.prompts_per_step * config.rl.num_generations;
  const decoupled = !existsSync(`${dir}/rl/metrics.jsonl`) && existsSync(`${dir}/selector-rl/metrics.jsonl`);
  const read = (f) => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  // A decoupled-rl pipeline logs its two RL stages apart (decoupled.ts): selector steps first, then
  // the ranker's, numbered on as one run; each stage's reward is the one phase it trains.
  const sel = decoupled ? read(`${dir}/selector-rl/metrics.jsonl`) : [];
  const selSteps = sel.filter((l) => l.loss !== undefined).length;
  const lines = decoupled
    ? [
        ...sel.map((l) => ({ ...l, reward_gen_mean: l.reward_mean, zero_var_frac_gen: l.zero_var_frac })),
        ...read(`${dir}/ranker-rl/metrics.jsonl`).map((l) => ({ ...l, step: l.step + selSteps, reward_rank_mean: l.reward_mean, zero_var_frac_rank: l.zero_var_frac })),
      ]
    : read(`${dir}/rl/metrics.jsonl`);
  const steps = lines.filter((l) => l.loss !== undefined);
  const curve = lines.filter((l) => l.validation).map((l) => ({ step: l.step, rollouts_seen: l.rollouts_seen ?? l.step * perStep, ndcg5: l.validation["ndcg@5"] }));
  const avg = (k) => mean(steps.map((s) => s[k]).filter((v) => typeof v === "number"));
  const name = basename(dir) === "rl" ? basename(dirname(dir)) : basename(dir);
  const row = {
    run: dir, name, method: decoupled ? "decoupled-rl" : config.rl.method, loss_type: config.rl.loss_type, lr: config.rl.learning_rate, seed: config.seed,
    minibatches: config.rl.num_minibatches, steps: steps.length, curve,
    final_ndcg5: curve.at(-1)?.ndcg5, best_ndcg5: Math.max(...curve.map((c) => c.ndcg5)),
    adv_gen_std: avg("adv_gen_std"), adv_rank_std: avg("adv_rank_std"), adv_joint_std: avg("adv_joint_std"),
    zero_var_gen: avg("zero_var_frac_gen"), zero_var_rank: avg("zero_var_frac_rank"), zero_var_joint: avg("zero_var_frac_joint"),
    reward_gen_first: firstLast(steps, "reward_gen_mean", 0), reward_gen_last: firstLast(steps, "reward_gen_mean", -1),
    reward_rank_first: firstLast(steps, "reward_rank_mean", 0), reward_rank_last: firstLast(steps, "reward_rank_mean", -1),
    entropy_first: mean(steps.slice(0, 10).map((s) => s.entropy)), entropy_last: mean(steps.slice(-10).map((s) => s.entropy)),
    // decoupled-rl: each stage's own token entropy (selector: slate tokens; ranker: rank tokens).
    ...(decoupled ? { entropy_selector: [firstLast(steps.slice(0, selSteps), "entropy", 0), firstLast(steps.slice(0, selSteps), "entropy", -1)], entropy_ranker: [firstLast(steps.slice(selSteps), "entropy", 0), firstLast(steps.slice(selSteps), "entropy", -1)] } : {}),
    clip: decoupled ? {} : config.rl.method === "fgrpo"
      ? { gen: avg("clip_low_gen") + avg("clip_high_gen"), rank: avg("clip_low_rank") + avg("clip_high_rank") }
      : { joint: avg("clip_low") + avg("clip_high") },
    grad_norm: avg("grad_norm"),
  };
  out.push(row);
}
console.log("| run | method | lr | seed | validation ndcg@5 by rollouts seen | final | best | adv std gen / rank / joint | zero-var gen / rank / joint | R_gen first→last 10 steps | R_rank first→last | entropy first→last | clipped fraction |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of out) {
  const clip = Object.entries(r.clip).map(([k, v]) => `${k} ${f(v, 4)}`).join(", ");
  console.log(`| ${r.name} | ${r.method}${r.method === "grpo" ? ` (${r.loss_type})` : ""} | ${r.lr} | ${r.seed} | ${r.curve.map((c) => `${c.rollouts_seen}: ${f(c.ndcg5, 4)}`).join(", ")} | ${f(r.final_ndcg5, 4)} | ${f(r.best_ndcg5, 4)} | ${f(r.adv_gen_std)} / ${f(r.adv_rank_std)} / ${f(r.adv_joint_std)} | ${f(r.zero_var_gen, 2)} / ${f(r.zero_var_rank, 2)} / ${f(r.zero_var_joint, 2)} | ${f(r.reward_gen_first)}→${f(r.reward_gen_last)} | ${f(r.reward_rank_first)}→${f(r.reward_rank_last)} | ${r.entropy_selector ? `selector ${f(r.entropy_selector[0])}→${f(r.entropy_selector[1])}, ranker ${f(r.entropy_ranker[0])}→${f(r.entropy_ranker[1])}` : `${f(r.entropy_first)}→${f(r.entropy_last)}`} | ${clip} |`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 1));
