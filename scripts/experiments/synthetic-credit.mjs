// The credit-assignment experiment on the synthetic task (docs/results-synthetic.md).
//
// For each start (an SFT target, or none) and seed: one SFT model; from it, each RL method at each
// learning rate of the grid with the same rollout budget. Logged per RL step (from the run's
// metrics.jsonl): the sampled rollouts' slate recall (R_gen) and slate-conditional NDCG (R_rank),
// and each phase's zero-variance fraction. After RL: greedy slate recall and slate-conditional
// NDCG on the validation split (for choosing the learning rate) and on the test split.
//
//   node scripts/experiments/synthetic-credit.mjs --config configs/experiments/synthetic-credit.json \
//     --starts slate_only,rank_only,scratch --methods fgrpo,grpo,gspo --seeds 0,1,2 --lrs 0.001,0.003 \
//     --out runs/experiments/synthetic-credit
//
// Writes <out>/results-<starts>-s<seeds>.jsonl (one line per run: start, seed, method, lr, curves,
// valid/test metrics); rerunning skips the runs already there. `--summarize` prints the tables
// from every results-*.jsonl in <out>.
import { readFileSync, existsSync, appendFileSync, mkdirSync, rmSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseConfig, readConfigFile } from "../../dist/src/fgrpo/trainer/config.js";
import { runTraining } from "../../dist/src/fgrpo/trainer/run.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy, disposePolicy } from "../../dist/src/fgrpo/trainer/policy.js";
import { evaluatePolicy } from "../../dist/src/fgrpo/trainer/evaluate.js";
import { ndcgAt, recallAt } from "../../dist/src/eval/metrics.js";

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/experiments/synthetic-credit.json" },
    starts: { type: "string", default: "slate_only,rank_only,scratch" },
    methods: { type: "string", default: "fgrpo,grpo,gspo" },
    seeds: { type: "string", default: "0,1,2" },
    lrs: { type: "string", default: "0.001,0.003" },
    out: { type: "string", default: "runs/experiments/synthetic-credit" },
    summarize: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    markdown: { type: "boolean", default: false },
  },
});
const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
const out = values.out;
// One results file per (starts, seeds) list, so processes with other seeds or starts can run side by side.
const resultsFile = join(out, `results-${list(values.starts).join("+")}-s${list(values.seeds).join("+")}.jsonl`);
mkdirSync(out, { recursive: true });

function merge(a, b) {
  const o = { ...a };
  for (const [k, v] of Object.entries(b)) o[k] = v && typeof v === "object" && !Array.isArray(v) && o[k] && typeof o[k] === "object" ? merge(o[k], v) : v;
  return o;
}

/** Greedy slate recall, slate-conditional NDCG@k and absolute NDCG@k of a model on a split. */
function evaluate(modelDir, config, split) {
  const policy = loadPolicy(modelDir, config);
  try {
    const task = setupTask(config, policy.codec);
    const examples = task.evalExamples(split);
    const r = evaluatePolicy(policy, task, examples, { constrained: true, seed: config.seed });
    const k = config.layout.k_max;
    let gen = 0, rankInSlate = 0, ndcg = 0;
    examples.forEach((e, i) => {
      const run = r.runs[i];
      const grades = e.example.relevant;
      gen += recallAt(run.slate, grades, Infinity);
      rankInSlate += ndcgAt(run.ranking, grades, k, "linear", run.slate.map((id) => grades.get(id) ?? 0));
      ndcg += ndcgAt(run.ranking, grades, k);
    });
    const n = examples.length;
    return { slate_recall: gen / n, rank_ndcg_in_slate: rankInSlate / n, ndcg: ndcg / n, n };
  } finally {
    disposePolicy(policy);
  }
}

function readJsonl(file) {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}

function curves(runDir) {
  return readJsonl(join(runDir, "rl", "metrics.jsonl"))
    .filter((r) => r.phase === "rl" && r.reward_gen_mean !== undefined)
    .map((r) => ({ step: r.step, gen: r.reward_gen_mean, rank: r.reward_rank_mean, zg: r.zero_var_frac_gen, zr: r.zero_var_frac_rank, zj: r.zero_var_frac_joint, ag: r.adv_gen_std, ar: r.adv_rank_std, aj: r.adv_joint_std }));
}

if (!values.summarize) {
  const base = readConfigFile(values.config);
  const done = new Set(readJsonl(resultsFile).map((r) => `${r.start}/${r.seed}/${r.method}/${r.lr}`));
  for (const start of list(values.starts)) {
    for (const seed of list(values.seeds).map(Number)) {
      const seedDir = join(out, start, `seed-${seed}`);
      // The start: SFT on one phase's target (or both), or a fresh model (scratch).
      let startModel = null;
      if (start !== "scratch") {
        const sftDir = join(seedDir, "sft");
        const cfg = parseConfig(merge(base, { seed, output_dir: sftDir, sft: { target: start }, rl: { max_steps: 0 } }));
        startModel = existsSync(join(sftDir, "final", "vocab.json")) ? join(sftDir, "final") : runTraining(cfg, { quiet: true }).finalModel;
        if (!done.has(`${start}/${seed}/start/0`)) {
          const t0 = Date.now();
          const row = { start, seed, method: "start", lr: 0, valid: evaluate(startModel, cfg, "valid"), test: evaluate(startModel, cfg, "test"), ms: Date.now() - t0 };
          appendFileSync(resultsFile, JSON.stringify(row) + "\n");
          console.error(JSON.stringify(row));
        }
      }
      for (const method of list(values.methods)) {
        for (const lr of list(values.lrs).map(Number)) {
          if (done.has(`${start}/${seed}/${method}/${lr}`)) continue;
          const runDir = join(seedDir, `${method}-lr${lr}`);
          rmSync(runDir, { recursive: true, force: true });
          const cfg = parseConfig(merge(base, {
            seed, output_dir: runDir, name: `synthetic-${start}-${method}-s${seed}`,
            model: startModel ? { checkpoint: startModel } : {},
            sft: { max_steps: 0 }, rl: { method, learning_rate: lr },
          }));
          const t0 = Date.now();
          const r = runTraining(cfg, { quiet: true, log: () => undefined });
          const ms = Date.now() - t0;
          const row = { start, seed, method, lr, ms, curve: curves(runDir), valid: evaluate(r.finalModel, cfg, "valid"), test: evaluate(r.finalModel, cfg, "test") };
          appendFileSync(resultsFile, JSON.stringify(row) + "\n");
          console.error(JSON.stringify({ ...row, curve: row.curve.length }));
        }
      }
    }
  }
}

// Summary: per start and method, the learning rate with the best mean validation
// (slate recall + slate-conditional NDCG) over seeds; its test numbers and curves.
const rows = readdirSync(out).filter((f) => /^results-.*\.jsonl$/.test(f)).sort().flatMap((f) => readJsonl(join(out, f)));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const fmt = (x) => x.toFixed(3);
const json = values.json;
const summary = [];
for (const start of [...new Set(rows.map((r) => r.start))]) {
  const startRows = rows.filter((r) => r.start === start && r.method === "start");
  if (startRows.length) summary.push({ start, method: "start (no RL)", lr: "—", seeds: startRows.length, test_gen: mean(startRows.map((r) => r.test.slate_recall)), test_rank: mean(startRows.map((r) => r.test.rank_ndcg_in_slate)), test_gen_sd: sd(startRows.map((r) => r.test.slate_recall)), test_rank_sd: sd(startRows.map((r) => r.test.rank_ndcg_in_slate)) });
  for (const method of [...new Set(rows.filter((r) => r.start === start && r.method !== "start").map((r) => r.method))]) {
    const byLr = new Map();
    for (const r of rows.filter((x) => x.start === start && x.method === method)) byLr.set(r.lr, [...(byLr.get(r.lr) ?? []), r]);
    const score = (rs) => mean(rs.map((r) => r.valid.slate_recall + r.valid.rank_ndcg_in_slate));
    const best = [...byLr].sort((a, b) => score(b[1]) - score(a[1]))[0][0];
    // The validation-chosen rate first (lr_choice "best"), then every rate of the grid ("grid").
    for (const [lr, rs] of [[best, byLr.get(best)], ...[...byLr].sort((a, b) => a[0] - b[0])]) {
    const steps = Math.min(...rs.map((r) => r.curve.length));
    const at = (key, from, to) => mean(rs.map((r) => mean(r.curve.slice(from, to).map((c) => c[key]))));
    summary.push({
      start, method, lr_choice: summary.some((x) => x.start === start && x.method === method) ? "grid" : "best", lr, seeds: rs.length, lrs_tried: [...byLr.keys()].join("/"),
      valid_score: score(rs),
      test_gen: mean(rs.map((r) => r.test.slate_recall)), test_gen_sd: sd(rs.map((r) => r.test.slate_recall)),
      test_rank: mean(rs.map((r) => r.test.rank_ndcg_in_slate)), test_rank_sd: sd(rs.map((r) => r.test.rank_ndcg_in_slate)),
      // Sampled-rollout curves in quarters of the budget (training prompts, temperature 1).
      gen_curve: [0, 1, 2, 3].map((q) => at("gen", Math.floor((q * steps) / 4), Math.floor(((q + 1) * steps) / 4))),
      rank_curve: [0, 1, 2, 3].map((q) => at("rank", Math.floor((q * steps) / 4), Math.floor(((q + 1) * steps) / 4))),
      zero_var_gen: at("zg", 0, steps), zero_var_rank: at("zr", 0, steps), zero_var_joint: at("zj", 0, steps),
      adv_std_gen: at("ag", 0, steps), adv_std_rank: at("ar", 0, steps), adv_std_joint: at("aj", 0, steps),
      minutes: mean(rs.map((r) => r.ms)) / 60000,
      per_seed_test: rs.map((r) => `s${r.seed}:${fmt(r.test.slate_recall)}/${fmt(r.test.rank_ndcg_in_slate)}`).join(","),
    });
    }
  }
}
const pm = (m, d) => `${fmt(m)} ± ${fmt(d)}`;
const curve = (c) => c.map(fmt).join(" → ");
if (values.markdown) {
  for (const start of [...new Set(summary.map((s) => s.start))]) {
    console.log(`\n### start: ${start}\n`);
    console.log("| method | lr | test slate recall | test rank NDCG in slate | sampled R_gen by quarter of the budget | sampled R_rank by quarter | zero-var groups gen / rank / joint | adv. std gen / rank / joint | per seed (recall/rank) |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const s of summary.filter((x) => x.start === start)) {
      if (s.method.startsWith("start")) {
        console.log(`| start, no RL | — | ${pm(s.test_gen, s.test_gen_sd)} | ${pm(s.test_rank, s.test_rank_sd)} | | | | | |`);
        continue;
      }
      const name = s.lr_choice === "best" ? `**${s.method}** (lr chosen on valid)` : s.method;
      console.log(`| ${name} | ${s.lr} | ${pm(s.test_gen, s.test_gen_sd)} | ${pm(s.test_rank, s.test_rank_sd)} | ${curve(s.gen_curve)} | ${curve(s.rank_curve)} | ${fmt(s.zero_var_gen)} / ${fmt(s.zero_var_rank)} / ${fmt(s.zero_var_joint)} | ${fmt(s.adv_std_gen)} / ${fmt(s.adv_std_rank)} / ${fmt(s.adv_std_joint)} | ${s.per_seed_test} |`);
    }
  }
} else if (json) for (const s of summary) console.log(JSON.stringify(s));
else for (const s of summary) {
  const parts = Object.entries(s).map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(fmt).join("→") : typeof v === "number" && !Number.isInteger(v) ? fmt(v) : v}`);
  console.log(parts.join("  "));
}
