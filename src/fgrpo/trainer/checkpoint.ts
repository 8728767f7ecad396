/**
 * Checkpoints: everything a run needs to continue exactly where it stopped — model weights,
 * optimizer state, generator states, data position and config — in one folder per step:
 *
 *   <output_dir>/checkpoints/step-000120/
 *       model/                 the model in HF layout (config.json, model.safetensors, vocab)
 *       optimizer.safetensors  AdamW moments
 *       ema.safetensors        the weight average (sft.ema_decay; absent when off)
 *       trainer_state.json     step, phase, RNG states, data position, best metric, config
 *   <output_dir>/checkpoints/LATEST   the folder name of the newest complete checkpoint
 *
 * A checkpoint is written into a temporary folder that is renamed into place when complete, and
 * LATEST is replaced atomically after that, so a run killed at any moment leaves the previous
 * checkpoint intact and never a half-written one.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as T from "../../torch/index.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { InputError } from "../../util/errors.js";
import type { EmaState } from "./ema.js";

export interface TrainerState {
  /** "sft" or "rl": which loop the checkpoint belongs to. */
  phase: string;
  /** Completed steps of that loop. */
  step: number;
  /** libtorch's CPU generator state, base64. */
  torchRng: string;
  /** The data-order generator's state. */
  dataRng: number[];
  /** Best validation value so far and its step (for best-checkpoint tracking). */
  best: { metric: string; value: number; step: number } | null;
  /** The config the run was started with (a resumed run must use the same). */
  config: unknown;
  /** Free-form extra state of the loop. */
  extra?: Record<string, unknown>;
}

export interface CheckpointContents {
  state: TrainerState;
  optimizer: T.OptimizerState;
  /** Writes the model into a folder (HF layout). */
  saveModel: (dir: string) => void;
  /** The parameters' moving average, when weight averaging is on. */
  ema?: EmaState | null;
}

function checkpointsDir(outputDir: string): string {
  return join(outputDir, "checkpoints");
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** Writes a checkpoint atomically and returns its folder. Keeps the newest `keep` plus `protect`. */
export function saveCheckpoint(outputDir: string, c: CheckpointContents, opts: { keep?: number; protect?: string[]; name?: string } = {}): string {
  const root = checkpointsDir(outputDir);
  mkdirSync(root, { recursive: true });
  const name = opts.name ?? stepDirName(c.state.step);
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  c.saveModel(join(tmp, "model"));
  T.saveSafetensors(join(tmp, "optimizer.safetensors"), c.optimizer.tensors, { step: String(c.optimizer.step) });
  if (c.ema) T.saveSafetensors(join(tmp, EMA_FILE), c.ema.tensors, { updates: String(c.ema.updates) });
  writeFileAtomic(join(tmp, "trainer_state.json"), JSON.stringify(c.state, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  if (opts.name === undefined) {
    writeFileAtomic(join(root, "LATEST"), name + "\n");
    prune(root, opts.keep ?? 2, new Set([name, ...(opts.protect ?? [])]));
  }
  return final;
}

function prune(root: string, keep: number, protect: Set<string>): void {
  const steps = readdirSync(root).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) {
    if (!protect.has(n)) rmSync(join(root, n), { recursive: true, force: true });
  }
}

/** The folder of the newest complete checkpoint, or null when the run has none. */
export function latestCheckpoint(outputDir: string): string | null {
  const latest = join(checkpointsDir(outputDir), "LATEST");
  if (!existsSync(latest)) return null;
  const dir = join(checkpointsDir(outputDir), readFileSync(latest, "utf8").trim());
  if (!existsSync(join(dir, "trainer_state.json"))) throw new InputError("LATEST names a checkpoint that is not there", { file: latest });
  return dir;
}

const EMA_FILE = "ema.safetensors";

/**
 * Reads a checkpoint's trainer state, optimizer tensors and weight average (null when the run
 * had none); the caller loads the model.
 */
export function loadCheckpoint(dir: string): { state: TrainerState; optimizer: T.OptimizerState; ema: EmaState | null } {
  const file = join(dir, "trainer_state.json");
  let state: TrainerState;
  try {
    state = JSON.parse(readFileSync(file, "utf8")) as TrainerState;
  } catch (e) {
    throw new InputError(`cannot read trainer state: ${(e as Error).message}`, { file });
  }
  const opt = T.loadSafetensors(join(dir, "optimizer.safetensors"));
  const emaFile = join(dir, EMA_FILE);
  const ema = existsSync(emaFile) ? T.loadSafetensors(emaFile) : null;
  return { state, optimizer: { step: Number(opt.metadata.step ?? state.step), tensors: opt.tensors }, ema: ema && { updates: Number(ema.metadata.updates), tensors: ema.tensors } };
}

export function encodeRng(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

export function decodeRng(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}
