/**
 * The torchrun-style launcher (`fgrpo train --nproc-per-node 2`) and the worker environment.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { workerEnv, checkLaunch, refuseDataParallel } from "../../src/cli/launch.js";
import { InputError } from "../../src/util/errors.js";
import { availableBackends, ProcessGroup } from "../../src/torch/distributed.js";
import { freePort } from "./helpers.js";

/** Without Gloo's headers at build time (libgloo-dev) the addon has no backend to test. */
const skip = availableBackends().includes("gloo") ? false : "the addon was built without Gloo (install libgloo-dev and rebuild)";

const cli = join(fileURLToPath(new URL("../../../", import.meta.url)), "dist", "src", "cli", "main.js");

test("the worker environment: torchrun's variables, Slurm's stand-ins, and one-line errors naming the variable", () => {
  assert.equal(workerEnv({}), null);
  assert.deepEqual(workerEnv({ RANK: "1", WORLD_SIZE: "2", MASTER_ADDR: "h", MASTER_PORT: "29500", LOCAL_RANK: "1" }), { rank: 1, worldSize: 2, localRank: 1, masterAddr: "h", masterPort: 29500 });
  assert.deepEqual(workerEnv({ SLURM_PROCID: "3", SLURM_NTASKS: "4", SLURM_LOCALID: "1", MASTER_ADDR: "n0", MASTER_PORT: "1234" }), { rank: 3, worldSize: 4, localRank: 1, masterAddr: "n0", masterPort: 1234 });
  assert.throws(() => workerEnv({ WORLD_SIZE: "2", MASTER_ADDR: "h", MASTER_PORT: "1" }), (e: unknown) => e instanceof InputError && /RANK is not set/.test(e.message));
  assert.throws(() => workerEnv({ RANK: "2", WORLD_SIZE: "2", MASTER_ADDR: "h", MASTER_PORT: "1" }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => workerEnv({ RANK: "0", WORLD_SIZE: "2", MASTER_ADDR: "h", MASTER_PORT: "x" }), /MASTER_PORT="x" is not an integer/);
  assert.throws(() => workerEnv({ RANK: "0", WORLD_SIZE: "2", MASTER_PORT: "1" }), /MASTER_ADDR is not set/);
  assert.throws(() => checkLaunch({ nprocPerNode: 2, nnodes: 2, nodeRank: 2, masterAddr: "h", masterPort: 1, graceMs: 1 }), /--node-rank 2 is not below --nnodes 2/);
  assert.throws(() => checkLaunch({ nprocPerNode: 1.5, nnodes: 1, nodeRank: 0, masterAddr: "h", masterPort: 1, graceMs: 1 }), /--nproc-per-node/);
});

test("fgrpo train --nproc-per-node 2 trains with 2 workers; rank 0 writes the run", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-launch-"));
  const config = join(dir, "config.input.json");
  writeFileSync(config, JSON.stringify({
    seed: 1, threads: 1, blas_threads: 1, output_dir: join(dir, "run"),
    task: { train_examples: 100, eval_examples: 8 },
    model: { hidden_size: 16, num_layers: 1, num_heads: 2, num_kv_heads: 2, intermediate_size: 32 },
    sft: { max_steps: 2, batch_size: 4, warmup_steps: 0 },
    rl: { max_steps: 1, prompts_per_step: 2, num_generations: 2, warmup_steps: 0 },
  }));
  const r = spawnSync(process.execPath, [cli, "train", "--config", config, "--quiet", "--nproc-per-node", "2", "--master-port", String(await freePort()), "--dist-timeout", "60"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /data parallel: 2 ranks; effective batch 4 rollouts, per rank 1 prompts × 2 = 2 rollouts/);
  assert.ok(existsSync(join(dir, "run", "final", "vocab.json")));
  const rl = readFileSync(join(dir, "run", "rl", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rl[0]!.completion_tokens, rl[0]!.completion_tokens, "one line per step, written once");
  assert.equal(rl.filter((l) => l.step === 1 && !("validation" in l)).length, 1);
  assert.equal(typeof rl[0]!.ms_allreduce, "number");
});

test("an indivisible batch fails on every rank with one line naming the field", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-launch-bad-"));
  const config = join(dir, "c.json");
  writeFileSync(config, JSON.stringify({ output_dir: join(dir, "run"), sft: { max_steps: 1, batch_size: 3, warmup_steps: 0 }, rl: { max_steps: 1, warmup_steps: 0 }, task: { train_examples: 50, eval_examples: 4 } }));
  const r = spawnSync(process.execPath, [cli, "train", "--config", config, "--quiet", "--nproc-per-node", "2", "--master-port", String(await freePort()), "--dist-timeout", "30"], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /fgrpo train: field "sft\.batch_size": 3 is not divisible by the world size 2/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test("compare and demo refuse data parallelism in one line instead of running the whole command once per worker", () => {
  for (const [command, extra] of [["compare", ["--methods", "sft"]], ["demo", []]] as const) {
    const flag = spawnSync(process.execPath, [cli, command, ...extra, "--nproc-per-node", "2"], { encoding: "utf8" });
    assert.equal(flag.status, 1, flag.stderr);
    assert.equal(flag.stderr.trim(), `fgrpo ${command}: ${command} runs in one process; data parallelism (--nproc-per-node was given) is supported by fgrpo train only — train each method with fgrpo train --nproc-per-node N, then compare the runs`);
    const env = spawnSync(process.execPath, [cli, command, ...extra], { encoding: "utf8", env: { ...process.env, RANK: "1", WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: "1" } });
    assert.equal(env.status, 1, env.stderr);
    assert.match(env.stderr, new RegExp(`^fgrpo ${command}: ${command} runs in one process; data parallelism \\(WORLD_SIZE=2\\)`));
  }
  assert.doesNotThrow(() => refuseDataParallel("compare", ["--methods", "sft"], {}));
  assert.doesNotThrow(() => refuseDataParallel("compare", [], { WORLD_SIZE: "1", MASTER_ADDR: "h" }));
});

test("a bad --bucket-cap-mb is refused in one line before any worker starts", async () => {
  const r = spawnSync(process.execPath, [cli, "train", "--nproc-per-node", "2", "--bucket-cap-mb", "abc", "--master-port", String(await freePort())], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^fgrpo train: field "--bucket-cap-mb": expected a positive number, got "abc"/);
});

test("--dist-backend nccl is refused in one line before any worker starts (this addon has no NCCL, and the trainer is CPU-only)", async () => {
  const r = spawnSync(process.execPath, [cli, "train", "--nproc-per-node", "2", "--dist-backend", "nccl", "--master-port", String(await freePort())], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  const why = availableBackends().includes("nccl") ? "the trainer keeps its tensors on the CPU" : "this addon was built without NCCL";
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^fgrpo train: field "--dist-backend": nccl is not available for fgrpo train: ${why}`));
  if (!availableBackends().includes("nccl") && availableBackends().includes("gloo")) {
    // The binding itself: a JavaScript error naming the cause, no abort.
    const port = await freePort();
    assert.throws(() => ProcessGroup.init({ masterAddr: "127.0.0.1", masterPort: port, rank: 0, worldSize: 1, backend: "nccl", timeoutMs: 5000 }), /backend "nccl" needs a libtorch built with CUDA and NCCL/);
  }
});
