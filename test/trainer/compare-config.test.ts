// `fgrpo compare` driven by an experiment file: per-method rl overrides (each method's learning
// rate, named variants such as GRPO with Dr. GRPO's loss_type), seed lists, and a rerun that
// reuses the finished runs (they resume at their last step) instead of training them again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/fgrpo/trainer/config.js";
import { methodRlConfig, referenceMethod, rlMethodOf, validateMethods } from "../../src/fgrpo/trainer/compare.js";
import { parseSeeds } from "../../src/cli/commands/compare.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

const VARIANTS = {
  fgrpo: { learning_rate: 1e-4 },
  grpo: { loss_type: "dapo", learning_rate: 2e-5 },
  "grpo-drgrpo": { method: "grpo", loss_type: "dr_grpo", learning_rate: 5e-4 },
};

test("compare.rl_overrides: built-in methods keep their method, variants name theirs", () => {
  const c = parseConfig({ rl: { learning_rate: 3e-4, loss_type: "grpo" }, compare: { rl_overrides: VARIANTS } });
  assert.deepEqual([c.rl.learning_rate, methodRlConfig(c, "fgrpo").learning_rate, methodRlConfig(c, "fgrpo").method], [3e-4, 1e-4, "fgrpo"]);
  const g = methodRlConfig(c, "grpo");
  assert.deepEqual([g.method, g.loss_type, g.learning_rate], ["grpo", "dapo", 2e-5]);
  const d = methodRlConfig(c, "grpo-drgrpo");
  assert.deepEqual([d.method, d.loss_type, d.learning_rate], ["grpo", "dr_grpo", 5e-4]);
  // A method without overrides runs the base rl section; fields not overridden stay the base's.
  assert.deepEqual([methodRlConfig(c, "gspo").method, methodRlConfig(c, "gspo").learning_rate], ["gspo", 3e-4]);
  assert.equal(d.num_generations, c.rl.num_generations);
  assert.equal(rlMethodOf("sft", c.compare.rl_overrides), null);
  assert.equal(rlMethodOf("popularity", c.compare.rl_overrides), null);
  validateMethods(["fgrpo", "grpo", "grpo-drgrpo", "sft", "popularity"], "rec", c.compare.rl_overrides);
  // Paired tests are against F-GRPO, or the first variant that runs it, else the first method.
  const lrs = { "grpo-lr5e-4": { method: "grpo" as const }, "fgrpo-lr1e-4": { method: "fgrpo" as const } };
  assert.equal(referenceMethod(["sft", "grpo-lr5e-4", "fgrpo-lr1e-4"], lrs), "fgrpo-lr1e-4");
  assert.equal(referenceMethod(["sft", "fgrpo-lr1e-4", "fgrpo"], lrs), "fgrpo");
  assert.equal(referenceMethod(["sft", "grpo-lr5e-4"], lrs), "sft");
});

test("compare.rl_overrides: bad variants and fields are one-line errors naming the field", () => {
  const noMethod = parseConfig({ compare: { rl_overrides: { mine: { learning_rate: 1e-4 } } } });
  assert.throws(() => validateMethods(["mine"], "rec", noMethod.compare.rl_overrides), /compare\.rl_overrides\.mine names a variant, so it must set "method"/);
  const renamed = parseConfig({ compare: { rl_overrides: { grpo: { method: "gspo" } } } });
  assert.throws(() => rlMethodOf("grpo", renamed.compare.rl_overrides), /cannot change its method/);
  assert.throws(() => validateMethods(["nothing"], "rec", {}), /unknown method "nothing"/);
  assert.throws(() => parseConfig({ compare: { rl_overrides: { grpo: { learning_rte: 1 } } } }), /unknown field\(s\) "learning_rte"/);
  assert.throws(() => parseConfig({ compare: { rl_overrides: { grpo: { loss_type: "bogus" } } } }), /"dapo"/);
  assert.throws(() => parseConfig({ compare: { seeds: [-1] } }), /compare\.seeds\.0/);
});

test("--seeds: a count from the config's seed, or an explicit list", () => {
  assert.deepEqual(parseSeeds(undefined, [0, 1, 2], 0), [0, 1, 2]);
  assert.deepEqual(parseSeeds("3", [], 4), [4, 5, 6]);
  assert.deepEqual(parseSeeds("2,0", [], 0), [2, 0]);
  assert.deepEqual(parseSeeds("5,", [], 0), [5]);
  assert.throws(() => parseSeeds("1,1", [], 0), /twice/);
  assert.throws(() => parseSeeds("a,1", [], 0), /comma-separated list/);
  assert.throws(() => parseSeeds("0", [], 0), /positive integer/);
});

test("compare --config with a compare section: per-method rl, listed seeds, a rerun reuses the runs", () => {
  const work = mkdtempSync(join(tmpdir(), "fgrpo-cmpcfg-"));
  const dir = join(work, "cmp");
  const config = {
    name: "cmpcfg", seed: 0, threads: 1, blas_threads: 1, output_dir: join(work, "run"),
    task: { train_examples: 200, eval_examples: 8 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 4, batch_size: 8, warmup_steps: 1 },
    rl: { max_steps: 2, prompts_per_step: 2, num_generations: 4, warmup_steps: 1, save_every: 2 },
    compare: { methods: ["fgrpo", "grpo-drgrpo", "popularity"], seeds: [3, 5], rl_overrides: VARIANTS },
  };
  const file = join(work, "exp.json");
  writeFileSync(file, JSON.stringify(config));
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, "compare", "--config", file, "--examples", "6", "--output", dir, "--quiet", ...args], { encoding: "utf8", cwd: work });
  const r = cli();
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(readFileSync(join(dir, "comparison.json"), "utf8"));
  assert.deepEqual(c.seeds, [3, 5]);
  assert.deepEqual(c.rows.map((row: { method: string }) => row.method), ["fgrpo", "grpo-drgrpo", "popularity"]);
  assert.equal(c.reference, "fgrpo");
  for (const seed of [3, 5]) {
    const f = JSON.parse(readFileSync(join(dir, `seed-${seed}`, "fgrpo", "config.json"), "utf8"));
    assert.deepEqual([f.seed, f.rl.method, f.rl.learning_rate], [seed, "fgrpo", 1e-4]);
    // The study's compare section is not part of a run's own config.
    assert.deepEqual(f.compare, { methods: [], seeds: [], rl_overrides: {}, sft_overrides: {} });
    const g = JSON.parse(readFileSync(join(dir, `seed-${seed}`, "grpo-drgrpo", "config.json"), "utf8"));
    assert.deepEqual([g.rl.method, g.rl.loss_type, g.rl.learning_rate], ["grpo", "dr_grpo", 5e-4]);
    // Validation lines carry the x of sample-efficiency curves.
    const lines = readFileSync(join(dir, `seed-${seed}`, "fgrpo", "rl", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.validation).map((l) => l.rollouts_seen), [16]);
    assert.deepEqual(lines.filter((l) => l.loss !== undefined).map((l) => l.rollouts_seen), [8, 16]);
  }
  // The rerun resumes every finished run at its last step: the same table, no new training lines.
  const before = readFileSync(join(dir, "seed-3", "fgrpo", "rl", "metrics.jsonl"), "utf8");
  const again = cli();
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /resumed rl from .*step-000002 \(step 2\)/);
  assert.equal(readFileSync(join(dir, "seed-3", "fgrpo", "rl", "metrics.jsonl"), "utf8"), before);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "comparison.json"), "utf8")).rows, c.rows);
  // --methods and --seeds on the command line take precedence over the config's compare section.
  const one = cli("--methods", "fgrpo,popularity", "--seeds", "3,");
  assert.equal(one.status, 0, one.stderr);
  const c1 = JSON.parse(readFileSync(join(dir, "comparison.json"), "utf8"));
  assert.deepEqual([c1.seeds, c1.rows.length], [[3], 2]);
  // A given SFT checkpoint with sft.max_steps 0 is the warm start itself: nothing is copied.
  const sft = join(dir, "seed-3", "sft", "final");
  const dir2 = join(work, "cmp2");
  const given = spawnSync(process.execPath, [CLI, "compare", "--config", file, "--examples", "6", "--output", dir2, "--quiet", "--methods", "sft,fgrpo", "--seeds", "3,", "--set", `model.checkpoint=${sft}`, "--set", "sft.max_steps=0"], { encoding: "utf8", cwd: work });
  assert.equal(given.status, 0, given.stderr);
  assert.equal(existsSync(join(dir2, "seed-3", "sft")), false);
  assert.equal(JSON.parse(readFileSync(join(dir2, "seed-3", "fgrpo", "config.json"), "utf8")).model.checkpoint, sft);
  const c2 = JSON.parse(readFileSync(join(dir2, "comparison.json"), "utf8"));
  // The given model is no run of this comparison (no logs), like a classic baseline: the report reads it.
  assert.deepEqual(c2.rows[0].runs, []);
  const rep = spawnSync(process.execPath, [CLI, "report", dir2, "--output", join(work, "report.html")], { encoding: "utf8", cwd: work });
  assert.equal(rep.status, 0, rep.stderr);
});
