/** Shared fixtures for the model tests. */
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** The repository root (tests run from dist/test/models). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const STORIES = join(ROOT, "test", "fixtures", "stories260K");
export const STORIES_BIN = join(STORIES, "stories260K.ak42v1.bin");
export const STORIES_TOK = join(STORIES, "tok512.bin");

/** GPT-2's byte-to-character table (the alphabet of byte-level BPE). */
function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const chars = new Array<string>(256);
  for (const b of bs) chars[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (chars[b] === undefined) chars[b] = String.fromCodePoint(256 + n++);
  return chars;
}

/**
 * A small GPT-2/Qwen-style byte-level BPE tokenizer.json: the 256 byte symbols, a few merges,
 * and one special end token, so HF tokenizer support is tested without downloading one.
 */
export function byteLevelTokenizerJson(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n"];
  for (const m of merges) vocab[m.replace(" ", "")] = Object.keys(vocab).length;
  const eos = Object.keys(vocab).length;
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: eos, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  return { json, config: { eos_token: "<|endoftext|>", bos_token: null } };
}

/** Titles and passages with characters that stress tokenizers. */
export const UNUSUAL_TEXTS = [
  "The Legend of Zelda: Breath of the Wild",
  "Pokémon Mystery Dungeon — Explorers of Sky (Nintendo DS)",
  "Crème brûlée à la façon de Žižek: naïve café",
  "東京タワーと富士山の写真集",
  "Game night 🎮🕹️ with friends 👩‍👩‍👧",
  "multiple   spaces\tand a tab",
  "line one\nline two\n\nafter a blank line\n",
  "  leading spaces and trailing  ",
  "Ünïcödé 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and math ∑∫√",
];
