import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HfTokenizer, Llama2cTokenizer, TaskVocab, TaskVocabTokenizer, loadTokenizer } from "../../src/models/index.js";
import { STORIES, STORIES_TOK, UNUSUAL_TEXTS, byteLevelTokenizerJson } from "./helpers.js";

const golden = JSON.parse(readFileSync(join(STORIES, "golden-greedy.json"), "utf8")) as { greedy_token_ids: number[]; greedy_text: string };

test("llama2.c BPE: encoding the golden text gives the golden ids, and decoding gives the text back", () => {
  const tok = Llama2cTokenizer.load(STORIES_TOK, 512);
  assert.equal(tok.vocabSize, 512);
  assert.deepEqual(tok.encode(golden.greedy_text, { bos: true }), golden.greedy_token_ids);
  assert.equal(tok.decode(golden.greedy_token_ids), golden.greedy_text);
  assert.deepEqual(tok.encode("", { bos: true, eos: true }), [1, 2]);
});

test("llama2.c BPE round-trips unusual text through byte fallback", () => {
  const tok = Llama2cTokenizer.load(STORIES_TOK);
  for (const text of UNUSUAL_TEXTS) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text, JSON.stringify(text));
  }
  // A character outside the 512-token vocabulary becomes its UTF-8 bytes (<0xNN> = id 3 + byte).
  const emoji = tok.encode("🎮").slice(1);
  assert.deepEqual(emoji, [...new TextEncoder().encode("🎮")].map((b) => 3 + b));
});

test("llama2.c BPE merges by score, leftmost first, like llama2.c", () => {
  const tok = Llama2cTokenizer.load(STORIES_TOK);
  // The reference: llama2.c's quadratic loop, merging the best-scoring adjacent pair each round.
  const reference = (text: string): number[] => {
    const index = new Map(tok.pieces.map((p, i) => [p, i] as [string, number]).reverse());
    const ids = [index.get(" ")!, ...[...text].flatMap((ch) => (index.has(ch) ? [index.get(ch)!] : [...new TextEncoder().encode(ch)].map((b) => 3 + b)))];
    for (;;) {
      let best = -1e10, at = -1, merged = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const m = index.get(tok.pieces[ids[i]!]! + tok.pieces[ids[i + 1]!]!);
        if (m !== undefined && tok.scores[m]! > best) [best, at, merged] = [tok.scores[m]!, i, m];
      }
      if (at < 0) return ids;
      ids.splice(at, 2, merged);
    }
  };
  for (const text of [...UNUSUAL_TEXTS, golden.greedy_text, "aaaaaaa bbbb   the the the"]) assert.deepEqual(tok.encode(text), reference(text), text);
});

test("llama2.c token strings: spaces kept, ASCII byte tokens as characters, specials empty", () => {
  const tok = Llama2cTokenizer.load(STORIES_TOK);
  const s = tok.tokenStrings();
  assert.equal(s.length, 512);
  assert.deepEqual([s[0], s[1], s[2]], ["", "", ""]);
  assert.equal(s[3 + 0x0a], "\n");
  assert.equal(s[3 + 0xc3], "");
  assert.equal(tok.encode("Once upon a time").map((i) => s[i]).join(""), " Once upon a time");
});

test("HF tokenizer.json (byte-level BPE) round-trips unusual text", () => {
  const { json, config } = byteLevelTokenizerJson();
  const tok = new HfTokenizer(json, config);
  assert.equal(tok.bosId, null);
  assert.equal(tok.eosId, 263);
  for (const text of UNUSUAL_TEXTS) assert.equal(tok.decode(tok.encode(text, { eos: true })), text, JSON.stringify(text));
  assert.deepEqual(tok.encode(" the"), [258]);
  const s = tok.tokenStrings();
  assert.equal(s[258], " the");
  assert.equal(s[263], "", "special tokens decode to nothing");
});

test("TaskVocab adapter encodes symbols and loads from vocab JSON", () => {
  const vocab = new TaskVocab(["<SLATE>", "[1]", "[2]", "</SLATE>"]);
  const tok = new TaskVocabTokenizer(vocab);
  assert.deepEqual(tok.encode("<SLATE> [2]  [1] </SLATE>", { bos: true, eos: true }), [1, 4, 6, 5, 7, 2]);
  assert.equal(tok.decode([1, 4, 6, 5, 7, 2, 0]), "<SLATE> [2] [1] </SLATE>");
  assert.deepEqual(tok.tokenStrings().slice(0, 6), ["", "", "", "", "<SLATE>", "[1]"]);
  assert.throws(() => loadTokenizer(join(STORIES, "nope.json")), /nope\.json: tokenizer not found/);
});
