import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError } from "../../util/errors.js";
import type { OnError } from "../types.js";
import type { RecDataset } from "./dataset.js";
import { loadRecBoleDir } from "./recbole.js";
import { loadMovieLens, loadRecJsonl, loadSequenceLines } from "./sequence-files.js";

export type RecFormat = "recbole" | "sequences" | "movielens" | "jsonl";

export interface RecLoadOptions {
  /** Force a format instead of detecting it from the path. */
  format?: RecFormat;
  /** RecBole candidate file extension (`sasrec`, `random`), or null to ignore candidate files. */
  candidates?: string | null;
  /** MovieLens: keep ratings ≥ this. */
  minRating?: number;
  onError?: OnError;
}

/**
 * Loads recommendation data from one path, detecting the format:
 * a directory with `*.inter` files → RecBole atomic files; a directory with `ratings.dat` or
 * `u.data`, or such a file → MovieLens; `*.jsonl` → the project's JSONL format; any other file →
 * one-line-per-user sequences (`Beauty.txt`).
 */
export function loadRecData(path: string, opts: RecLoadOptions = {}): RecDataset {
  if (!existsSync(path)) throw new InputError("no such file or directory", { file: path });
  path = singleDataFile(path, opts.format);
  const format = opts.format ?? detectRecFormat(path);
  const { onError } = opts;
  switch (format) {
    case "recbole":
      return loadRecBoleDir(path, { candidates: opts.candidates, onError });
    case "movielens": {
      const file = statSync(path).isDirectory() ? [join(path, "ratings.dat"), join(path, "u.data")].find(existsSync) : path;
      if (!file) throw new InputError("no ratings.dat or u.data in this directory", { file: path });
      return loadMovieLens(file, { minRating: opts.minRating, onError });
    }
    case "jsonl":
      return loadRecJsonl(path, { onError });
    case "sequences":
      return loadSequenceLines(path, { onError });
  }
}

/**
 * A folder that is neither RecBole nor MovieLens but holds exactly one sequence (.txt) or JSONL
 * file stands for that file (`--data data/Beauty/` with Beauty.txt inside). Several candidates are
 * refused with their names rather than guessed.
 */
function singleDataFile(path: string, format: RecFormat | undefined): string {
  if (!statSync(path).isDirectory() || format === "recbole" || format === "movielens") return path;
  const names = readdirSync(path);
  if (format === undefined && (names.some((n) => n.endsWith(".inter")) || names.includes("ratings.dat") || names.includes("u.data"))) return path;
  const wanted = format === "jsonl" ? [".jsonl"] : format === "sequences" ? [".txt"] : [".txt", ".jsonl"];
  const files = names.filter((n) => wanted.some((w) => n.endsWith(w))).sort();
  if (files.length === 1) return join(path, files[0]!);
  if (files.length === 0) throw new InputError(`no RecBole .inter files, ratings.dat/u.data, or ${wanted.join("/")} data file in this directory`, { file: path });
  throw new InputError(`several data files (${files.join(", ")}); pass one of them to --data`, { file: path });
}

export function detectRecFormat(path: string): RecFormat {
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, "ratings.dat")) || existsSync(join(path, "u.data"))) return "movielens";
    return "recbole";
  }
  const name = basename(path);
  if (name.endsWith(".jsonl")) return "jsonl";
  if (name === "ratings.dat" || name === "u.data") return "movielens";
  return "sequences";
}
