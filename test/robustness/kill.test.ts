/**
 * kill -9 at random moments of a small training run (checkpoints every step or two, so many
 * kills land inside a checkpoint write): after each kill the run is started again, and the
 * finished run must equal an uninterrupted one — same results, same metric lines (none twice),
 * and no temporary file or folder left anywhere in the output folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/util/random.js";
import { temporaries } from "./temporaries.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const TIMING = new Set(["ms_generation", "ms_scoring", "ms_update", "rollout_tokens_per_s", "rollouts_per_s"]);

function config(dir: string): string {
  const file = join(dir, "..", `${dir.split("/").pop()}.json`);
  writeFileSync(file, JSON.stringify({
    name: "kill", seed: 5, threads: 1, blas_threads: 1, output_dir: dir,
    task: { train_examples: 200, eval_examples: 16 },
    model: { hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 64 },
    sft: { max_steps: 8, batch_size: 8, warmup_steps: 1, save_every: 1, eval_every: 4 },
    rl: { max_steps: 4, prompts_per_step: 2, num_generations: 2, warmup_steps: 1, save_every: 1, eval_every: 2 },
  }));
  return file;
}

function train(cfg: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, "train", "--config", cfg, "--quiet"], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

/** Starts a run and kills it with SIGKILL after `ms`; resolves when it is gone. */
function trainAndKill(cfg: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, "train", "--config", cfg, "--quiet"], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function metricLines(dir: string, phase: string): string[] {
  const file = join(dir, phase, "metrics.jsonl");
  return readFileSync(file, "utf8").trim().split("\n").map((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    for (const k of TIMING) delete r[k];
    return JSON.stringify(r);
  });
}

test("a run killed with SIGKILL at random moments resumes to the uninterrupted result, with no leftovers and no duplicate metric lines", async () => {
  const root = mkdtempSync(join(tmpdir(), "fgrpo-kill-"));
  const refDir = join(root, "ref");
  const t0 = performance.now();
  const ref = train(config(refDir));
  assert.equal(ref.status, 0, ref.stderr);
  const duration = performance.now() - t0;
  const dir = join(root, "killed");
  const cfg = config(dir);
  const rng = new Rng(11);
  // Kill moments spread over the run (process start and data loading included).
  const kills = [0.15, 0.35, 0.55, 0.75, 0.9].map((f) => Math.round(duration * (f + 0.1 * (rng.next() - 0.5))));
  for (const ms of kills) {
    await trainAndKill(cfg, ms);
    if (existsSync(join(dir, "results.json")) && existsSync(join(dir, "final"))) break; // finished before the kill
  }
  const last = train(cfg);
  assert.equal(last.status, 0, last.stderr);
  assert.equal(readFileSync(join(dir, "results.json"), "utf8"), readFileSync(join(refDir, "results.json"), "utf8"));
  for (const phase of ["sft", "rl"]) {
    const got = metricLines(dir, phase);
    assert.equal(new Set(got).size, got.length, `${phase}: duplicate metric lines`);
    assert.deepEqual(got, metricLines(refDir, phase), `${phase}: metric lines differ`);
  }
  assert.deepEqual(temporaries(dir), [], "temporary files left behind");
});
