// How much the pool items' logits at the last prompt position move when another user's history (same length) is swapped in.
import { readFileSync } from "node:fs";
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { loadPolicy } from "../../dist/src/fgrpo/trainer/policy.js";
import { TaskVocab } from "../../dist/src/models/task-vocab.js";
import * as T from "../../dist/src/torch/index.js";
const [runDir, ckpt] = process.argv.slice(2);
const config = parseConfig(JSON.parse(readFileSync(`${runDir}/config.json`, "utf8")));
const vocab = TaskVocab.fromJSON(JSON.parse(readFileSync(`${runDir}/vocab.json`, "utf8")));
const task = setupTask(config, vocab);
const policy = loadPolicy(ckpt);
const ex = task.data.examples("valid", 300);
let done = 0;
for (let i = 0; i < ex.length && done < 5; i++) {
  const a = ex[i];
  const b = ex.find((e, j) => j !== i && e.history.length === a.history.length && e.history.join() !== a.history.join());
  if (!b) continue;
  const ea = task.encode(a), eb = task.encode({ ...a, history: b.history });
  const last = (ids) => T.noGrad(() => policy.model.forward(T.tensor(BigInt64Array.from(ids, BigInt), { shape: [1, ids.length] })).narrow(1, ids.length - 1, 1).reshape(-1).toFloat32Array());
  const la = last(ea.promptIds), lb = last(eb.promptIds);
  // logits of the pool items only
  const poolTok = ea.codec ? a.pool.map((c) => vocab.id(`item:${c.id}`)) : [];
  let maxd = 0, spread = 0;
  const va = poolTok.map((t) => la[t]), vb = poolTok.map((t) => lb[t]);
  for (let k = 0; k < va.length; k++) maxd = Math.max(maxd, Math.abs(va[k] - vb[k]));
  spread = Math.max(...va) - Math.min(...va);
  console.log(`history len ${a.history.length}: max |Δ pool-item logit| ${maxd.toExponential(2)} (spread of pool logits ${spread.toFixed(3)})`);
  done++;
}
