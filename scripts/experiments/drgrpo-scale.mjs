// Are GRPO's dapo and dr_grpo the same update on a task? Both sum the per-token surrogate over
// the minibatch; dapo divides by its active tokens T, dr_grpo by R · max_completion_length. So
// the dr_grpo gradient is c · (the dapo gradient), c = T / (R · L_max), per optimizer update, and
// AdamW is invariant to a constant c (up to its ε): the two differ only through how much c moves
// from step to step. This prints c per run from the logged completion tokens (one update per
// step: on-policy; with minibatches the step's c is the mean of its minibatches' c to first order),
// and, for pairs of runs given as DAPO_DIR:DRGRPO_DIR, the largest gap of their validation curves.
// Usage: node scripts/experiments/drgrpo-scale.mjs RUN_DIR|DAPO_DIR:DRGRPO_DIR …
import { readFileSync } from "node:fs";

const read = (dir) => {
  const config = JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
  const lines = readFileSync(`${dir}/rl/metrics.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  return { config, steps: lines.filter((l) => l.loss !== undefined), curve: lines.filter((l) => l.validation).map((l) => l.validation["ndcg@5"]) };
};
const maxLen = (config) => config.rl.max_completion_length ?? config.layout.n_max + config.layout.k_max + 5;
const stats = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
  return { mean: +m.toFixed(5), min: +Math.min(...xs).toFixed(5), max: +Math.max(...xs).toFixed(5), cv: +(sd / m).toFixed(5) };
};
for (const arg of process.argv.slice(2)) {
  const [a, b] = arg.split(":");
  const run = read(a);
  const rollouts = run.config.rl.prompts_per_step * run.config.rl.num_generations;
  const L = maxLen(run.config);
  const row = {
    run: a,
    loss_type: run.config.rl.loss_type,
    max_completion_length: L,
    tokens_per_rollout: stats(run.steps.map((s) => s.completion_tokens / rollouts)),
    c: stats(run.steps.map((s) => s.completion_tokens / (rollouts * L))),
  };
  if (b) {
    const other = read(b);
    row.vs = b;
    row.vs_loss_type = other.config.rl.loss_type;
    row.same_rollouts_first_step = run.steps[0]?.completion_tokens === other.steps[0]?.completion_tokens && run.steps[0]?.reward_joint_mean === other.steps[0]?.reward_joint_mean;
    row.validation_curves = [run.curve.map((x) => +x.toFixed(4)), other.curve.map((x) => +x.toFixed(4))];
    row.max_validation_gap = +Math.max(...run.curve.map((x, i) => Math.abs(x - (other.curve[i] ?? NaN)))).toFixed(4);
    row.first_step_diverging = run.steps.findIndex((s, i) => other.steps[i] && s.completion_tokens !== other.steps[i].completion_tokens) + 1 || null;
  }
  console.log(JSON.stringify(row));
}
