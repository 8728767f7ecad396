import { Rng } from "../util/random.js";

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The generator for one example: derived from the run seed and the example id, so an example's
 * pool does not depend on which other examples were built or in what order (a `--limit` or a
 * resumed run sees the same pools), while one seed still determines everything.
 */
export function exampleRng(seed: number, id: string): Rng {
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ hashString(id)) >>> 0);
}
