/**
 * Starting data-parallel workers the way torchrun does (docs/distributed.md). A launcher
 * (`--nproc-per-node N`) re-runs the same command N times on this node with the standard
 * environment — RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT — and
 * a worker reads that environment, so a cluster scheduler (Slurm, Kubernetes) can start the
 * workers directly instead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { InputError } from "../util/errors.js";

export interface WorkerEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** How long the launcher lets the other workers exit on their own after one failed, in ms. */
  graceMs: number;
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") throw new InputError(`environment variable ${name} is not set (a worker needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)`);
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new InputError(`environment variable ${name}="${raw}" is not an integer ≥ ${min}`);
  return v;
}

/**
 * The worker's place in the group from the environment, or null when this process is not a
 * worker (WORLD_SIZE unset). Slurm's SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID stand in for
 * RANK / WORLD_SIZE / LOCAL_RANK when those are absent.
 */
export function workerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv | null {
  const e = { ...env };
  if (e.WORLD_SIZE === undefined && e.SLURM_NTASKS !== undefined && e.MASTER_ADDR !== undefined) {
    e.WORLD_SIZE = e.SLURM_NTASKS;
    e.RANK ??= e.SLURM_PROCID;
    e.LOCAL_RANK ??= e.SLURM_LOCALID;
  }
  if (e.WORLD_SIZE === undefined) return null;
  const worldSize = intVar(e, "WORLD_SIZE", 1);
  const rank = intVar(e, "RANK", 0);
  if (rank >= worldSize) throw new InputError(`environment variable RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const masterAddr = e.MASTER_ADDR ?? "";
  if (masterAddr === "") throw new InputError("environment variable MASTER_ADDR is not set (the address of rank 0's machine)");
  const masterPort = intVar(e, "MASTER_PORT", 1);
  if (masterPort > 65535) throw new InputError(`environment variable MASTER_PORT=${masterPort} is not a port`);
  const localRank = e.LOCAL_RANK === undefined ? rank : intVar(e, "LOCAL_RANK", 0);
  return { rank, worldSize, localRank, masterAddr, masterPort };
}

const LAUNCH_FLAGS = ["--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port", "--dist-backend"];

/**
 * For commands that run in one process only (compare, demo and its decoupled pipelines): a
 * one-line error instead of N copies of the whole run writing the same files, when asked for data
 * parallelism by a launcher flag or by a worker environment with WORLD_SIZE > 1.
 */
export function refuseDataParallel(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  const flag = argv.map((a) => a.split("=")[0]!).find((a) => LAUNCH_FLAGS.includes(a));
  const why = flag !== undefined ? `${flag} was given` : Number(env.WORLD_SIZE ?? env.SLURM_NTASKS ?? 1) > 1 && (env.WORLD_SIZE !== undefined || env.MASTER_ADDR !== undefined) ? `WORLD_SIZE=${env.WORLD_SIZE ?? env.SLURM_NTASKS}` : null;
  if (why !== null) throw new InputError(`${command} runs in one process; data parallelism (${why}) is supported by fgrpo train only — train each method with fgrpo train --nproc-per-node N, then compare the runs`);
}

/** Checks launcher flags; throws an InputError naming the flag. */
export function checkLaunch(o: LaunchOptions): void {
  const int = (v: number, min: number, flag: string) => {
    if (!Number.isInteger(v) || v < min) throw new InputError(`expected an integer ≥ ${min}, got ${v}`, { field: flag });
  };
  int(o.nprocPerNode, 1, "--nproc-per-node");
  int(o.nnodes, 1, "--nnodes");
  int(o.nodeRank, 0, "--node-rank");
  int(o.masterPort, 1, "--master-port");
  if (o.nodeRank >= o.nnodes) throw new InputError(`--node-rank ${o.nodeRank} is not below --nnodes ${o.nnodes}`, { field: "--node-rank" });
  if (o.masterPort > 65535) throw new InputError(`${o.masterPort} is not a port`, { field: "--master-port" });
}

/**
 * Runs `args` (a node script and its arguments) once per local rank and waits for all of them.
 * When a worker fails, the others are given `graceMs` to notice (their next collective fails
 * and names it) and exit; any still running then are killed, as torchrun does. Resolves to the
 * first failing worker's exit code (0 when all succeed).
 */
export function launch(o: LaunchOptions, args: string[], log: (l: string) => void = (l) => console.error(l)): Promise<number> {
  checkLaunch(o);
  const worldSize = o.nprocPerNode * o.nnodes;
  const children: ChildProcess[] = [];
  let firstFailure: { rank: number; code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const forward = (sig: NodeJS.Signals) => () => children.forEach((c) => c.exitCode === null && c.kill(sig));
  const onInt = forward("SIGINT"), onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const exits = Array.from({ length: o.nprocPerNode }, (_, local) => {
    const rank = o.nodeRank * o.nprocPerNode + local;
    const child = spawn(process.execPath, args, {
      stdio: "inherit",
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(o.nprocPerNode),
        GROUP_RANK: String(o.nodeRank),
        MASTER_ADDR: o.masterAddr,
        MASTER_PORT: String(o.masterPort),
      },
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.on("exit", (code, signal) => {
        const status = code ?? 128 + (signal === "SIGKILL" ? 9 : 15);
        if (status !== 0 && firstFailure === null) {
          firstFailure = { rank, code: status };
          log(`fgrpo launcher: rank ${rank} exited with ${signal ? `signal ${signal}` : `code ${code}`}; waiting up to ${Math.round(o.graceMs / 1000)} s for the other workers`);
          killTimer = setTimeout(() => {
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
          }, o.graceMs);
        }
        resolve();
      });
    });
  });
  return Promise.all(exits).then(() => {
    if (killTimer) clearTimeout(killTimer);
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    return firstFailure === null ? 0 : (firstFailure as { code: number }).code;
  });
}
