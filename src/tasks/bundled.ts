import { fileURLToPath } from "node:url";
import { join } from "node:path";

/**
 * The data shipped with the package (see data/SOURCES.md): a subset of Amazon Games 2018 in
 * RecBole atomic files and 300 HotpotQA questions. Paths resolve from the compiled module
 * (dist/src/tasks/) to the package's data/ folder.
 */
export const BUNDLED_DATA_DIR = fileURLToPath(new URL("../../../data/", import.meta.url));

/** Directory of the bundled Games subset: `Games-3k.{item,test.inter,valid.inter,sasrec}`. */
export const BUNDLED_GAMES_DIR = join(BUNDLED_DATA_DIR, "games");

/** The bundled HotpotQA questions (original format, JSON Lines). */
export const BUNDLED_HOTPOTQA_FILES: readonly string[] = [join(BUNDLED_DATA_DIR, "hotpotqa", "hotpotqa-300.jsonl")];
