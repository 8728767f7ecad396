// Does a QA policy fit its training questions, and through what? Greedy (constrained) NDCG@5 of a
// checkpoint on (1) training questions with the pools it was trained on (pool order of the run's
// seed), (2) the same questions with the passages reshuffled (other pool seeds: same passages,
// other [i] labels), (3) validation and test. A model that matched question and passage words
// would score the same on (1) and (2); one that memorised "this question → these labels" drops
// to random on (2). Usage (after `npx tsc -p .`):
//   node scripts/diagnostics/qa-memorisation.mjs RUN_DIR CHECKPOINT [N_TRAIN=200] [SEEDS=1,2] [N_EVAL=all]
// RUN_DIR holds the run's config.json (its seed is the training pool seed).
// Two more probes on valid+test: (4) does the policy do better where word matching is easy?
// per-question NDCG@5 of the policy against that of BM25 restricted to what the model can read
// (32 question words, 24 passage words, only words in its vocabulary); (5) does its first
// ranked label depend on the prompt? the share of the most frequent [i] at rank 1.
import { readFileSync } from "node:fs";
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy, loadPolicyCodec } from "../../dist/src/fgrpo/trainer/policy.js";
import { evaluatePolicy } from "../../dist/src/fgrpo/trainer/evaluate.js";
import { Bm25Index } from "../../dist/src/tasks/bm25.js";
import { words } from "../../dist/src/tasks/text.js";
import * as T from "../../dist/src/torch/index.js";

const [runDir, ckpt, nArg, seedsArg, evalArg] = process.argv.slice(2);
if (!runDir || !ckpt) {
  console.error("usage: qa-memorisation.mjs RUN_DIR CHECKPOINT [N_TRAIN] [SEEDS]");
  process.exit(2);
}
const nTrain = Number(nArg ?? 200);
const otherSeeds = (seedsArg ?? "1,2").split(",").map(Number);
T.setNumThreads(1, 1);
const base = parseConfig(JSON.parse(readFileSync(`${runDir}/config.json`, "utf8")));
const policy = loadPolicy(ckpt, base);
const codec = loadPolicyCodec(base, ckpt);
const byId = (a, b) => (a.example.id < b.example.id ? -1 : a.example.id > b.example.id ? 1 : 0);
const r4 = (x) => +x.toFixed(4);
const perQuery = new Map();
const ndcg = (task, exs, keep = false) => {
  const r = evaluatePolicy(policy, task, exs, { constrained: true });
  if (keep) for (const [id, row] of r.summary.perQuery) perQuery.set(id, { policy: row["ndcg@5"], run: r.runs.find((x) => x.id === id), ex: exs.find((e) => e.example.id === id).example });
  return { ndcg5: r4(r.means["ndcg@5"]), recall5: r4(r.means["recall@5"]), slate_recall: r4(r.means.slate_recall) };
};
/** NDCG@5 of one ranking (binary grades, 2 gold at most here). */
function ndcg5(ranking, relevant) {
  let dcg = 0, ideal = 0;
  ranking.slice(0, 5).forEach((id, i) => (dcg += relevant.has(id) ? 1 / Math.log2(i + 2) : 0));
  for (let i = 0; i < Math.min(5, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal > 0 ? dcg / ideal : 0;
}
function pearson(xs, ys) {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
const out = { checkpoint: ckpt, train_pool_seed: base.seed, train_questions: nTrain };
for (const seed of [base.seed, ...otherSeeds]) {
  // The split does not depend on the seed (QA split seed 0), only the pools' passage order does.
  // One order per pool: a run trained with task.train_pool_orders > 1 is probed on its first order.
  const task = setupTask({ ...base, seed, task: { ...base.task, train_pool_orders: 1 } }, codec);
  const train = [...task.train].sort(byId).slice(0, nTrain);
  const key = seed === base.seed ? `train_seed${seed}_as_trained` : `train_seed${seed}_reshuffled`;
  out[key] = ndcg(task, train);
  if (seed === base.seed) {
    const nEval = evalArg ? Number(evalArg) : undefined;
    out.valid = ndcg(task, task.evalExamples("valid", nEval), true);
    out.test = ndcg(task, task.evalExamples("test", nEval), true);
  }
}
// (4) and (5) over valid+test.
const vocab = codec.vocab;
const corpus = [...perQuery.values()].flatMap((q) => q.ex.pool.map((c) => c.text));
const index = new Bm25Index(corpus);
const view = (text, n) => words(text).slice(0, n).filter((w) => vocab.has(w)).join(" ");
const pol = [], lex = [];
const top1 = new Map();
for (const q of perQuery.values()) {
  const scored = q.ex.pool.map((c, i) => ({ id: c.id, i, s: index.scoreText(view(q.ex.question ?? "", 32), view(c.text, 24)) }));
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  pol.push(q.policy);
  lex.push(ndcg5(scored.map((e) => e.id), q.ex.relevant));
  const first = q.run?.ranking[0];
  const label = first === undefined ? "none" : `[${q.ex.pool.findIndex((c) => c.id === first) + 1}]`;
  top1.set(label, (top1.get(label) ?? 0) + 1);
}
const easy = pol.filter((_, i) => lex[i] === 1), hard = pol.filter((_, i) => lex[i] < 0.5);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const commonest = [...top1].sort((a, b) => b[1] - a[1]).slice(0, 3);
out.valid_test = {
  questions: pol.length,
  policy_ndcg5: r4(mean(pol)),
  bm25_in_vocab_view_ndcg5: r4(mean(lex)),
  pearson_policy_vs_bm25_in_vocab: r4(pearson(pol, lex)),
  policy_ndcg5_where_bm25_view_perfect: { questions: easy.length, ndcg5: r4(mean(easy)) },
  policy_ndcg5_where_bm25_view_below_0_5: { questions: hard.length, ndcg5: r4(mean(hard)) },
  rank1_labels_distinct: top1.size,
  rank1_commonest: commonest.map(([l, n]) => ({ label: l, share: r4(n / pol.length) })),
};
console.log(JSON.stringify(out));
