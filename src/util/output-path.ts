/**
 * Checks of where a command will write, made before any work starts, so a run does not compute
 * for an hour and then fail on its output path (or spin: mkdir inside /proc never succeeds).
 * Each error names the path and the flag or field that gave it.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { InputError } from "./errors.js";

const VIRTUAL_FILESYSTEMS = ["/proc", "/sys", "/dev"];

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

function checkWritableFolderPath(dir: string, where: { file?: string; field?: string }): void {
  const abs = resolve(dir);
  if (VIRTUAL_FILESYSTEMS.some((v) => abs === v || abs.startsWith(v + sep))) throw new InputError(`${dir} is inside ${abs.split(sep).slice(0, 2).join(sep)}, a virtual file system; choose a folder on disk`, where);
  const existing = nearestExisting(abs);
  if (!statSync(existing).isDirectory()) throw new InputError(`${existing} is a file, so ${dir} cannot be a folder`, where);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new InputError(`${existing} is not writable`, where);
  }
}

/** A folder a command will create or fill (an output_dir, --output DIR). */
export function checkOutputFolder(dir: string, where: { file?: string; field?: string }): void {
  checkWritableFolderPath(dir, where);
}

/** A file a command will write (--output FILE): not a folder, its folder creatable and writable. */
export function checkOutputFile(file: string, where: { file?: string; field?: string }): void {
  if (file.endsWith("/") || (existsSync(file) && statSync(file).isDirectory())) throw new InputError(`${file} is a folder; give a file name`, where);
  checkWritableFolderPath(dirname(resolve(file)), where);
}
