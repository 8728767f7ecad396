import { closeSync, fsyncSync, openSync, readdirSync, renameSync, writeSync, mkdirSync, rmSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { InputError } from "./errors.js";

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, are flushed to
 * disk, and the temporary file is renamed over the target. A crash leaves either the old file or
 * the new one, never a torn one.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    // At most 1 GiB a call: one write of 2 GiB or more is refused (ERR_OUT_OF_RANGE), and a
    // float32 checkpoint of a 0.6B model is 2.4 GB.
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, Math.min(bytes.byteLength - off, 2 ** 30));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === "EISDIR" ? "is a folder; give a file name" : `cannot write: ${(e as Error).message}`, { file });
  }
}

/**
 * Temporary names this project writes: writeFileAtomic's `.NAME.PID.TIME.tmp` and a checkpoint's
 * `.NAME.tmp-PID` folder. The PID says whose they are.
 */
const TEMP_NAMES = [/^\..+\.(\d+)\.\d+\.tmp$/, /^\..+\.tmp-(\d+)$/];

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // ours, from before this start: nothing of ours is in flight yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files and folders that a killed process left under `dir` (down to
 * `depth` levels): only those whose PID is no longer running, so a concurrent writer's are kept.
 * Returns the removed paths.
 */
export function removeStaleTemps(dir: string, depth = 5): string[] {
  const removed: string[] = [];
  const walk = (d: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      const pid = TEMP_NAMES.map((re) => re.exec(e.name)).find((m) => m !== null)?.[1];
      if (pid !== undefined && !processAlive(Number(pid))) {
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } else if (e.isDirectory() && level < depth) {
        walk(path, level + 1);
      }
    }
  };
  walk(dir, 1);
  return removed;
}
