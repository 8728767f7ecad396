// Where does the model win or lose against item-kNN and popularity? Test NDCG@5 of a model and of
// the two baselines per history-length bucket, on a seeded random sample of test users (not the
// first N: the first users of a file can differ systematically, e.g. Beauty's have longer histories).
// BY=target groups instead by how often the target item occurs in the training sequences (new and
// rare items are where a learned prior and co-occurrence counting part ways).
// Usage: node scripts/diagnostics/by-history-length.mjs RUN_DIR MODEL_DIR [SAMPLE=3000] [SPLIT=test] [BY=history|target]
import { readFileSync } from "node:fs";
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy } from "../../dist/src/fgrpo/trainer/policy.js";
import { evaluatePolicy } from "../../dist/src/fgrpo/trainer/evaluate.js";
import { makeBaseline } from "../../dist/src/tasks/baselines/index.js";
import { Rng } from "../../dist/src/util/random.js";
import * as T from "../../dist/src/torch/index.js";
const [runDir, ckpt, sampleArg = "3000", split = "test", by = "history"] = process.argv.slice(2);
if (by !== "history" && by !== "target") throw new Error(`BY must be history or target, got ${by}`);
T.setNumThreads(1, 1);
const config = parseConfig(JSON.parse(readFileSync(`${runDir}/config.json`, "utf8")));
const policy = loadPolicy(ckpt, config);
const task = setupTask(config, policy.codec);
const all = task.data.examples(split);
const rng = new Rng(12345);
const idx = all.map((_, i) => i);
for (let i = idx.length - 1; i > 0; i--) { const j = rng.int(i + 1); [idx[i], idx[j]] = [idx[j], idx[i]]; }
const sample = idx.slice(0, Math.min(Number(sampleArg), all.length)).sort((a, b) => a - b).map((i) => all[i]);
const encoded = sample.map((e) => task.encode(e));
const model = evaluatePolicy(policy, task, encoded, { constrained: true, seed: config.seed }).summary.perQuery;
const dcg = (ranking, rel) => ranking.slice(0, 5).reduce((s, id, r) => s + ((rel.get(id) ?? 0) > 0 ? 1 / Math.log2(r + 2) : 0), 0);
const inputs = task.data.baselineInputs("train");
const baseline = (name) => {
  const ranker = makeBaseline("rec", name, { ...inputs, seed: config.seed });
  return new Map(sample.map((e) => [e.id, dcg(ranker.rankPool(e), e.relevant)]));
};
const pop = baseline("popularity"), knn = baseline("itemknn");
const trainCount = new Map();
for (const seq of inputs.trainSequences ?? []) for (const item of seq) trainCount.set(item, (trainCount.get(item) ?? 0) + 1);
const target = (e) => [...e.relevant.keys()][0];
const key = by === "history" ? (e) => e.history.length : (e) => trainCount.get(target(e)) ?? 0;
const buckets = by === "history" ? [[0, 3], [4, 5], [6, 8], [9, 15], [16, Infinity]] : [[0, 0], [1, 4], [5, 19], [20, 99], [100, Infinity]];
const what = by === "history" ? "history length (items before the target)" : "the target's count in the training sequences";
console.log(`${split}: ${sample.length} of ${all.length} users (seeded sample); NDCG@5 by ${what}`);
console.log(`| ${by === "history" ? "history length" : "target's training count"} | users | model | popularity | item-kNN | model − item-kNN |\n|---|---|---|---|---|---|`);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
for (const [lo, hi] of [...buckets, [0, Infinity]]) {
  const es = sample.filter((e) => key(e) >= lo && key(e) <= hi);
  const m = mean(es.map((e) => model.get(e.id)["ndcg@5"])), p = mean(es.map((e) => pop.get(e.id))), k = mean(es.map((e) => knn.get(e.id)));
  const label = hi === Infinity ? (lo === 0 ? "all" : `≥ ${lo}`) : lo === hi ? `${lo}` : `${lo}–${hi}`;
  console.log(`| ${label} | ${es.length} | ${m.toFixed(4)} | ${p.toFixed(4)} | ${k.toFixed(4)} | ${(m - k >= 0 ? "+" : "−") + Math.abs(m - k).toFixed(4)} |`);
}
