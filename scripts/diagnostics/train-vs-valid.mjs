// Greedy NDCG@5 of a checkpoint on training prompts vs validation prompts (memorisation check).
import { readFileSync } from "node:fs";
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy } from "../../dist/src/fgrpo/trainer/policy.js";
import { evaluatePolicy } from "../../dist/src/fgrpo/trainer/evaluate.js";
import { TaskVocab } from "../../dist/src/models/task-vocab.js";
import { makeBaseline } from "../../dist/src/tasks/baselines/index.js";
import { evaluateRun } from "../../dist/src/eval/metrics.js";
import * as T from "../../dist/src/torch/index.js";
const [runDir, ckpt] = process.argv.slice(2);
T.setNumThreads(1, 1);
const config = parseConfig(JSON.parse(readFileSync(`${runDir}/config.json`, "utf8")));
const vocab = TaskVocab.fromJSON(JSON.parse(readFileSync(`${runDir}/vocab.json`, "utf8")));
const task = setupTask(config, vocab);
const policy = loadPolicy(ckpt);
const tr = evaluatePolicy(policy, task, task.train.slice(0, 300), { constrained: true });
const va = evaluatePolicy(policy, task, task.evalExamples("valid", 300), { constrained: true });
const base = {};
for (const m of ["popularity", "itemknn"]) {
  const r = makeBaseline("rec", m, task.data.baselineInputs("train"));
  for (const [name, ex] of [["train", task.train.slice(0, 300)], ["valid", task.evalExamples("valid", 300)]]) {
    const runs = new Map(ex.map((e) => [e.example.id, { id: e.example.id, ranking: r.rankPool(e.example) }]));
    base[`${m}_${name}_ndcg5`] = evaluateRun(runs, new Map(ex.map((e) => [e.example.id, e.example.relevant])), ["ndcg@5"], { bootstrapSamples: 0 }).metrics["ndcg@5"].mean;
  }
}
console.log(JSON.stringify({ ...base, ckpt, train_ndcg5: tr.means["ndcg@5"], train_hit1: tr.means["hit@1"], valid_ndcg5: va.means["ndcg@5"], valid_hit1: va.means["hit@1"] }));
