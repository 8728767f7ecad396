import { closeSync, fsyncSync, openSync, renameSync, writeSync, mkdirSync, rmSync } from "node:fs";
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
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
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
