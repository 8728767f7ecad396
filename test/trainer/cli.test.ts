// The training commands end to end through the CLI: a tiny train run, eval, rank, compare, and
// their errors (bad configs, missing files, malformed request lines) with nothing written half-way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "fgrpo-cli-"));
const run = join(work, "run");

function fgrpo(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: work });
}

const TINY = {
  name: "cli", seed: 1, threads: 1, blas_threads: 1, output_dir: run,
  task: { train_examples: 300, eval_examples: 16 },
  model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
  sft: { max_steps: 6, batch_size: 8, warmup_steps: 1 },
  rl: { max_steps: 2, prompts_per_step: 2, num_generations: 4, warmup_steps: 1 },
};
const configFile = join(work, "tiny.json");
writeFileSync(configFile, JSON.stringify(TINY));

test("the package's fgrpo command runs directly, as `npx fgrpo` runs it (executable, with its shebang)", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
  const r = spawnSync(join(root, pkg.bin.fgrpo!), ["--help"], { encoding: "utf8", cwd: work });
  assert.equal(r.error, undefined, `spawning the bin: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /fgrpo/);
});

test("train, then eval and rank with the trained model", () => {
  const t = fgrpo("train", "--config", configFile, "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /after SFT: ndcg@5 [0-9.]+/);
  assert.match(t.stdout, /after RL \(fgrpo\): ndcg@5/);
  assert.ok(existsSync(join(run, "final", "model.safetensors")));
  assert.match(t.stderr, /16 prompts|2 prompts × 4 generations = 8 rollouts/);

  const e = fgrpo("eval", "--checkpoint", join(run, "final"), "--split", "test", "--limit", "10", "--json");
  assert.equal(e.status, 0, e.stderr);
  const out = JSON.parse(e.stdout);
  assert.equal(out.examples, 10);
  assert.equal(out.validity.ok, 10);
  assert.ok(out.metrics["ndcg@5"].ciLow <= out.metrics["ndcg@5"].mean);

  const requests = join(work, "requests.jsonl");
  writeFileSync(requests, [
    { id: "a", history: ["5345", "14586"], candidates: [{ id: "8328", text: "x" }, { id: "7915" }, { id: "6432" }, { id: "1194" }, { id: "2109" }, { id: "5384" }] },
    { id: "b", history: [], candidates: [{ id: "unknown-item" }, { id: "2905" }] },
  ].map((r) => JSON.stringify(r)).join("\n") + "\n");
  const ranked = join(work, "ranked.jsonl");
  const r = fgrpo("rank", "--checkpoint", join(run, "final"), "--input", requests, "--output", ranked);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(ranked, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.id), ["a", "b"]);
  for (const l of lines) {
    assert.equal(l.status, "ok");
    assert.ok(l.ranking.length >= 1 && l.ranking.every((id: string) => l.slate.includes(id)));
  }
  assert.ok(lines[1].ranking.every((id: string) => ["unknown-item", "2905"].includes(id)));
});

test("malformed request lines are errors naming file, line and field; nothing is written", () => {
  const bad = join(work, "bad.jsonl");
  const out = join(work, "never.jsonl");
  const cases: [string, RegExp][] = [
    ['{"id":"a","history":[],"candidates":[{"id":"1"}]}\n{oops\n', /bad\.jsonl:2: invalid JSON/],
    ['{"id":"a","history":[],"candidates":[]}\n', /bad\.jsonl:1, field "candidates"/],
    ['{"id":"a","history":"x","candidates":[{"id":"1"}]}\n', /bad\.jsonl:1, field "history"/],
    ['{"id":"a","history":[],"candidates":[{"id":"1"},{"id":"1"}]}\n', /field "candidates\[1\]\.id": duplicate/],
    ['{"history":[],"candidates":[{"id":"1"}]}\n', /field "id"/],
    [JSON.stringify({ id: "a", history: [], candidates: Array.from({ length: 21 }, (_, i) => ({ id: String(i) })) }) + "\n", /21 candidates/],
  ];
  for (const [text, pattern] of cases) {
    writeFileSync(bad, text);
    const r = fgrpo("rank", "--checkpoint", join(run, "final"), "--input", bad, "--output", out);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(existsSync(out), false);
  }
});

test("bad configs, flags and paths fail with clear messages", () => {
  const badCfg = join(work, "bad-config.json");
  writeFileSync(badCfg, JSON.stringify({ rl: { method: "ppo" } }));
  let r = fgrpo("train", "--config", badCfg);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad-config\.json, field "rl\.method": must be one of/);
  r = fgrpo("train", "--config", join(work, "missing.json"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /missing\.json: cannot read config/);
  r = fgrpo("train", "--config", configFile, "--set", "layout.k_max=50");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /field "layout\.k_max"/);
  r = fgrpo("train", "--bogus");
  assert.equal(r.status, 2);
  r = fgrpo("eval", "--checkpoint", join(work, "nowhere"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nowhere: no such checkpoint folder/);
  r = fgrpo("eval", "--checkpoint", join(run, "final"), "--split", "train");
  assert.equal(r.status, 2);
  r = fgrpo("compare", "--config", configFile, "--methods", "fgrpo,magic");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown method "magic"/);
  for (const cmd of ["train", "eval", "rank", "compare", "demo", "generate", "score", "baseline", "report"]) {
    const h = fgrpo(cmd, "--help");
    assert.equal(h.status, 0, `${cmd} --help`);
    assert.match(h.stdout, new RegExp(`usage: fgrpo ${cmd}`));
  }
});

test("compare runs methods at equal budget and writes a table with paired tests", () => {
  const dir = join(work, "cmp");
  const r = fgrpo("compare", "--config", configFile, "--methods", "fgrpo,grpo,sft,decoupled-sft,decoupled-rl,classic-ranker,popularity", "--examples", "12", "--output", dir, "--quiet");
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(readFileSync(join(dir, "comparison.json"), "utf8"));
  assert.deepEqual(c.rows.map((row: { method: string }) => row.method), ["fgrpo", "grpo", "sft", "decoupled-sft", "decoupled-rl", "classic-ranker", "popularity"]);
  assert.equal(c.reference, "fgrpo");
  assert.equal(c.examples, 12);
  for (const row of c.rows) {
    assert.ok(row.metrics["ndcg@5"].ciLow <= row.metrics["ndcg@5"].mean && row.metrics["ndcg@5"].mean <= row.metrics["ndcg@5"].ciHigh);
    if (row.method !== "fgrpo") assert.ok(row.vsReference["ndcg@5"].pValue >= 0 && row.vsReference["ndcg@5"].pValue <= 1);
  }
  // Every RL method started from the same SFT model and ran the same number of steps.
  for (const m of ["fgrpo", "grpo"]) {
    const cfg = JSON.parse(readFileSync(join(dir, "seed-1", m, "config.json"), "utf8"));
    assert.equal(cfg.model.checkpoint, join(dir, "seed-1", "sft", "final"));
    assert.equal(cfg.rl.max_steps, 2);
  }
  const rep = fgrpo("report", dir, "--output", join(work, "report.html"));
  assert.equal(rep.status, 0, rep.stderr);
});

test("--print-config prints the values a run uses, not null, for the fields chosen for it, and round-trips", () => {
  const printed = (...args: string[]): Record<string, Record<string, unknown>> => {
    const r = fgrpo("train", ...args, "--print-config");
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
  };
  const rec = printed();
  assert.equal(rec.task!.pool_order, "first_stage", "rec with item-kNN as first stage reranks its order");
  assert.equal(rec.layout!.id_tokens, "item");
  assert.equal(rec.sft!.dropout, 0.5);
  assert.equal(rec.sft!.history_loss_weight, 0.3);
  assert.deepEqual([rec.rl!.epsilon, rec.rl!.epsilon_high], [3e-4, 4e-4], "F-GRPO's sequence-level preset");
  assert.equal(rec.task!.first_stage, "itemknn");
  assert.equal(rec.model!.checkpoint, null, "a null that means none stays null");

  const grpo = printed("--set", "rl.method=grpo", "--set", "task.first_stage=null");
  assert.deepEqual([grpo.rl!.epsilon, grpo.rl!.epsilon_high], [0.2, 0.2]);
  assert.equal(grpo.task!.pool_order, "shuffled", "no first stage: nothing to rerank");
  const eps = printed("--set", "rl.epsilon=0.1");
  assert.deepEqual([eps.rl!.epsilon, eps.rl!.epsilon_high], [0.1, 0.1], "epsilon alone is a symmetric range");

  const qa = printed("--set", "task.task=qa");
  assert.equal(qa.layout!.id_tokens, "pool_id");
  assert.equal(qa.sft!.dropout, 0);
  assert.equal(qa.sft!.history_loss_weight, 0);

  // A text checkpoint (tokenizer.json, no vocab.json) is fine-tuned without dropout or history loss.
  const textDir = join(work, "text-ckpt");
  mkdirSync(textDir, { recursive: true });
  writeFileSync(join(textDir, "tokenizer.json"), "{}");
  const text = printed("--set", `model.checkpoint=${textDir}`);
  assert.equal(text.sft!.dropout, 0);
  assert.equal(text.sft!.history_loss_weight, 0);

  // The printed config is a config: fed back, it prints itself.
  const file = join(work, "printed.json");
  writeFileSync(file, JSON.stringify(rec));
  assert.deepEqual(printed("--config", file), rec);

  // …and it resumes the run made with the nulls it resolved (the tiny run trained above).
  const resolved = join(work, "tiny-printed.json");
  writeFileSync(resolved, JSON.stringify(printed("--config", configFile)));
  const again = fgrpo("train", "--config", resolved, "--quiet");
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /different config/);
});
