// Does the model use the history? Validation NDCG@5 with each user's own history, with another
// user's history (rotated by one), and with an empty history.
import { readFileSync } from "node:fs";
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy } from "../../dist/src/fgrpo/trainer/policy.js";
import { evaluatePolicy } from "../../dist/src/fgrpo/trainer/evaluate.js";
import * as T from "../../dist/src/torch/index.js";
const [runDir, ckpt] = process.argv.slice(2);
T.setNumThreads(1, 1);
const config = parseConfig(JSON.parse(readFileSync(`${runDir}/config.json`, "utf8")));
// The checkpoint's own codec (its vocab.json), so prompts encode exactly as in training.
const policy = loadPolicy(ckpt, config);
const task = setupTask(config, policy.codec);
const vocab = policy.codec.vocab;
const ex = task.data.examples("valid", 300);
const run = (name, exs) => console.log(name, evaluatePolicy(policy, task, exs.map((e) => task.encode(e)), { constrained: true }).means["ndcg@5"].toFixed(4));
run("own history", ex);
run("another user's history", ex.map((e, i) => ({ ...e, history: ex[(i + 1) % ex.length].history })));
run("empty history", ex.map((e) => ({ ...e, history: [] })));
let unk = 0, tot = 0;
for (const e of ex) for (const h of e.history.slice(-20)) { tot++; if (!vocab.has(`item:${h}`)) unk++; }
console.log("valid history items outside the vocabulary:", unk, "of", tot);
