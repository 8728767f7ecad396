// Validation NDCG@5 of the co-occurrence initialisation alone: score = Σ history embeddings · candidate embedding.
import { parseConfig } from "../../dist/src/fgrpo/trainer/config.js";
import { setupTask } from "../../dist/src/fgrpo/trainer/data.js";
import { cooccurrenceEmbeddings } from "../../dist/src/fgrpo/trainer/item-embeddings.js";
import { itemSymbol } from "../../dist/src/tasks/prompts.js";
import { evaluateRun } from "../../dist/src/eval/metrics.js";
const config = parseConfig({ task: { first_stage: null } });
const task = setupTask(config);
const rows = cooccurrenceEmbeddings(task.data.baselineInputs("train").trainSequences, task.vocab, 128, 1, 1);
const ex = task.data.examples("valid", 300);
const runs = new Map(), gold = new Map();
for (const e of ex) {
  const h = new Float32Array(128);
  for (const it of e.history.slice(-20)) { const r = rows.get(task.vocab.has(itemSymbol(it)) ? task.vocab.id(itemSymbol(it)) : -1); if (r) for (let d = 0; d < 128; d++) h[d] += r[d]; }
  const scored = e.pool.map((c) => { const r = rows.get(task.vocab.has(itemSymbol(c.id)) ? task.vocab.id(itemSymbol(c.id)) : -1); let s = -1e9; if (r) { s = 0; for (let d = 0; d < 128; d++) s += h[d] * r[d]; } return { id: c.id, s }; });
  scored.sort((a, b) => b.s - a.s);
  runs.set(e.id, { id: e.id, ranking: scored.map((x) => x.id) });
  gold.set(e.id, e.relevant);
}
const s = evaluateRun(runs, gold, ["ndcg@5", "hit@1"], { bootstrapSamples: 0 });
console.log("init history-sum valid(300):", s.metrics["ndcg@5"].mean.toFixed(4), s.metrics["hit@1"].mean.toFixed(4));
