import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { TaskVocab } from "../../src/models/task-vocab.js";
import type { TokenConstraint } from "../../src/generation/constraint.js";
import {
  denseMasks,
  maxCompletionChars,
  maxCompletionTokens,
  parseTextCompletion,
  renderRolloutText,
  replayConstraint,
  rolloutSymbols,
  TextRolloutConstraint,
  VocabRolloutCodec,
  VocabRolloutConstraint,
  type RolloutLayout,
  type TextTokenizer,
} from "../../src/fgrpo/grammar.js";
import { Rng } from "../../src/util/random.js";
import { allValidRollouts, charTokenizer, encodeGreedy, layoutArb, pieceTokenizer } from "./toy-tokenizers.js";

function vocabConstraint(layout: RolloutLayout): VocabRolloutConstraint {
  // Filler symbols and a reversed order, so token ids are neither contiguous nor ascending in position.
  return new VocabRolloutConstraint(new VocabRolloutCodec(new TaskVocab(["w1", ...rolloutSymbols(layout).reverse(), "w2"]), layout));
}

function assertAscending(ids: Int32Array, where: string): void {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${where}: not strictly ascending: ${Array.from(ids)}`);
}

/** A uniform random walk to completion; returns the tokens. Checks for dead ends and order. */
function randomWalk<S>(c: TokenConstraint<S>, rng: Rng, maxSteps: number): number[] {
  const tokens: number[] = [];
  let state = c.initial();
  while (!c.isComplete(state)) {
    const allowed = c.allowedTokens(state);
    assert.ok(allowed.length > 0, `dead end after ${tokens.length} tokens`);
    assertAscending(allowed, `step ${tokens.length}`);
    assert.ok(tokens.length < maxSteps, `no completion within ${maxSteps} tokens`);
    const t = allowed[rng.int(allowed.length)]!;
    tokens.push(t);
    state = c.advance(state, t);
  }
  assert.equal(c.allowedTokens(state).length, 0);
  return tokens;
}

const SMALL_LAYOUTS: RolloutLayout[] = [
  { poolSize: 4, nMax: 3, kMax: 3 },
  { poolSize: 3, nMax: 1, kMax: 2 },
  { poolSize: 12, nMax: 2, kMax: 2 },
  { poolSize: 5, nMax: 3, kMax: 2 }, // k_max binds below the slate size
];

test("vocabulary automaton allows exactly the prefixes of valid rollouts (exhaustive oracle)", () => {
  for (const layout of SMALL_LAYOUTS) {
    const c = vocabConstraint(layout);
    const next = new Map<string, Set<number>>();
    for (const r of allValidRollouts(layout)) {
      const tokens = c.codec.render(r);
      for (let i = 0; i < tokens.length; i++) {
        const key = tokens.slice(0, i).join(",");
        if (!next.has(key)) next.set(key, new Set());
        next.get(key)!.add(tokens[i]!);
      }
    }
    for (const [key, expected] of next) {
      const prefix = key === "" ? [] : key.split(",").map(Number);
      let state = c.initial();
      for (const t of prefix) state = c.advance(state, t);
      assert.deepEqual(Array.from(c.allowedTokens(state)), [...expected].sort((a, b) => a - b), `layout ${JSON.stringify(layout)}, prefix ${key}`);
    }
  }
});

/** Visits every text prefix reachable through `c` and compares its allowed set with the oracle. */
function checkTextOracle(tok: TextTokenizer, layout: RolloutLayout): number {
  const c = new TextRolloutConstraint(tok, layout);
  const full = new Set(allValidRollouts(layout).map(renderRolloutText));
  const prefixes = new Set<string>();
  for (const t of full) for (let i = 0; i <= t.length; i++) prefixes.add(t.slice(0, i));
  const seen = new Set<string>([""]);
  const queue: [string, ReturnType<typeof c.initial>][] = [["", c.initial()]];
  while (queue.length > 0) {
    const [text, state] = queue.pop()!;
    const expected: number[] = [];
    tok.pieces.forEach((p, id) => {
      if (tok.eosIds.includes(id) ? full.has(text) : prefixes.has(text + p)) expected.push(id);
    });
    const allowed = c.allowedTokens(state);
    assert.deepEqual(Array.from(allowed), expected, `layout ${JSON.stringify(layout)}, after ${JSON.stringify(text)}`);
    for (const id of allowed) {
      if (tok.eosIds.includes(id)) {
        assert.ok(c.isComplete(c.advance(state, id)));
        continue;
      }
      const t = text + tok.pieces[id];
      if (seen.has(t)) continue;
      seen.add(t);
      queue.push([t, c.advance(state, id)]);
    }
  }
  return seen.size;
}

test("text automaton allows exactly the tokens that extend a valid rollout text (exhaustive oracle, two tokenizers)", () => {
  for (const layout of SMALL_LAYOUTS) {
    const visitedChars = checkTextOracle(charTokenizer(), layout);
    const visitedPieces = checkTextOracle(pieceTokenizer(), layout);
    assert.ok(visitedChars > 50 && visitedPieces > 50, `${visitedChars} / ${visitedPieces} prefixes visited`);
  }
});

test('multi-character tokens: "[1" is allowed exactly while [1] or some [10]–[19] is usable', () => {
  const tok = pieceTokenizer();
  const id = (piece: string): number => tok.pieces.indexOf(piece);
  const after = (c: TextRolloutConstraint, text: string): Int32Array => {
    let s = c.initial();
    for (const t of encodeGreedy(tok, text)) s = c.advance(s, t);
    return c.allowedTokens(s);
  };
  const n20 = new TextRolloutConstraint(tok, { poolSize: 20, nMax: 12, kMax: 5 });
  assert.ok(after(n20, "<SLATE> ").includes(id("[1")));
  const used = "<SLATE> [1] [10] [11] [12] [13] [14] [15] [16] [17] [18] ";
  assert.ok(after(n20, used).includes(id("[1")), "[19] is still usable");
  assert.ok(!after(n20, used + "[19] ").includes(id("[1")), "every [1…] is used");
  assert.ok(after(n20, used + "[19] ").includes(id("[2")));
  const n9 = new TextRolloutConstraint(tok, { poolSize: 9, nMax: 5, kMax: 2 });
  assert.ok(!after(n9, "<SLATE> [1] ").includes(id("[1")));
  assert.ok(!after(n9, "<SLATE> [2").includes(id("0]")), "[20] is not in a pool of 9");
  // the ranking may only use slate members: with slate {10, 2}, "[1" then "0]" but not "1]"
  const rank = after(n20, "<SLATE> [10] [2] </SLATE> <RANK> [1");
  assert.ok(rank.includes(id("0]")) && !rank.includes(id("1]")));
});

test("property: random walks through the vocabulary automaton always finish and parse as ok (N ≤ 30)", () => {
  fc.assert(
    fc.property(layoutArb(30), fc.integer(), (layout, seed) => {
      const c = vocabConstraint(layout);
      const rng = new Rng(seed);
      for (let walk = 0; walk < 5; walk++) {
        const tokens = randomWalk(c, rng, maxCompletionTokens(layout));
        const p = c.codec.parse(tokens);
        assert.equal(p.status, "ok", p.detail);
        assert.deepEqual(c.codec.render(p), tokens);
      }
    }),
    { numRuns: 200 },
  );
});

test("property: random walks through the text automaton finish, stay canonical and parse as ok (two tokenizers, N ≤ 30)", () => {
  const tokenizers = [charTokenizer(), pieceTokenizer()];
  fc.assert(
    fc.property(layoutArb(30), fc.integer(), fc.integer({ min: 0, max: 1 }), (layout, seed, which) => {
      const tok = tokenizers[which]!;
      const c = new TextRolloutConstraint(tok, layout);
      const rng = new Rng(seed);
      for (let walk = 0; walk < 3; walk++) {
        const tokens = randomWalk(c, rng, maxCompletionChars(layout) + 1);
        const p = parseTextCompletion(tokens, tok, layout);
        assert.equal(p.status, "ok", `${p.detail}: ${p.text}`);
        assert.equal(p.text, renderRolloutText(p));
      }
    }),
    { numRuns: 200 },
  );
});

test("advance rejects tokens the automaton does not allow", () => {
  const layout: RolloutLayout = { poolSize: 5, nMax: 2, kMax: 1 };
  const v = vocabConstraint(layout);
  const sym = (s: string): number => v.codec.vocab.id(s, true);
  let s = v.advance(v.initial(), sym("<SLATE>"));
  assert.throws(() => v.advance(s, sym("</SLATE>")), /not allowed/); // empty slate
  s = v.advance(v.advance(s, sym("[3]")), sym("[5]"));
  assert.throws(() => v.advance(s, sym("[1]")), /not allowed/); // n_max reached
  const tok = charTokenizer();
  const t = new TextRolloutConstraint(tok, layout);
  assert.throws(() => t.advance(t.initial(), tok.eosIds[0]!), /EOS/);
  assert.throws(() => t.advance(t.initial(), tok.pieces.indexOf("[")), /not allowed/);
});

test("replayConstraint recomputes the sampling masks; denseMasks lays them out per step", () => {
  const layout: RolloutLayout = { poolSize: 20, nMax: 4, kMax: 2 };
  const tok = pieceTokenizer();
  const c = new TextRolloutConstraint(tok, layout);
  const rng = new Rng(5);
  const seen: Int32Array[] = [];
  const tokens: number[] = [];
  let state = c.initial();
  while (!c.isComplete(state)) {
    const allowed = c.allowedTokens(state);
    seen.push(Int32Array.from(allowed));
    const t = allowed[rng.int(allowed.length)]!;
    tokens.push(t);
    state = c.advance(state, t);
  }
  const replay = replayConstraint(c, tokens);
  assert.equal(replay.complete, true);
  assert.deepEqual(replay.allowed.map((a) => Array.from(a)), seen.map((a) => Array.from(a)));
  assert.equal(replayConstraint(c, tokens.slice(0, -1)).complete, false);
  const dense = denseMasks(replay, tok.pieces.length);
  assert.equal(dense.length, tokens.length * tok.pieces.length);
  tokens.forEach((t, step) => assert.equal(dense[step * tok.pieces.length + t], 1));
  assert.equal(dense.reduce((a, b) => a + b, 0), seen.reduce((a, s) => a + s.length, 0));
  const bad = [...tokens];
  bad[1] = tok.eosIds[0]!;
  assert.throws(() => replayConstraint(c, bad), /step 1:/);
  assert.throws(() => replayConstraint(c, [...tokens, tokens[0]!]), /after the completion ended/);
});

test("the text automaton refuses tokenizers that cannot spell every layout character alone", () => {
  const tok = charTokenizer();
  const pieces = tok.pieces.map((p) => (p === "]" ? "]]" : p));
  assert.throws(() => new TextRolloutConstraint({ pieces, eosIds: [0] }, { poolSize: 3, nMax: 2, kMax: 1 }), /"\]"/);
  assert.throws(() => new TextRolloutConstraint({ pieces: tok.pieces, eosIds: [] }, { poolSize: 3, nMax: 2, kMax: 1 }), /EOS/);
});

/** The llama2.c tokenizer file: int32 max_len, then per token float32 score, int32 length, bytes. */
function readTok512(file: string): string[] {
  const buf = readFileSync(file);
  const pieces: string[] = [];
  let off = 4;
  while (off < buf.length) {
    const len = buf.readInt32LE(off + 4);
    // SentencePiece writes a leading space as U+2581; decoded in context it is a space.
    pieces.push(buf.subarray(off + 8, off + 8 + len).toString("utf8").replaceAll("\u2581", " "));
    off += 8 + len;
  }
  return pieces;
}

test("a real SentencePiece vocabulary (stories260K, 512 tokens) drives the text automaton to valid rollouts", () => {
  const pieces = readTok512(join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "stories260K", "tok512.bin"));
  assert.equal(pieces.length, 512);
  const tok: TextTokenizer = { pieces, eosIds: [2] }; // llama2.c: 1 = <s>, 2 = </s>
  const layout: RolloutLayout = { poolSize: 20, nMax: 10, kMax: 5 };
  const c = new TextRolloutConstraint(tok, layout);
  const rng = new Rng(11);
  for (let walk = 0; walk < 50; walk++) {
    const tokens = randomWalk(c, rng, maxCompletionChars(layout) + 1);
    const p = parseTextCompletion(tokens, tok, layout);
    assert.equal(p.status, "ok", p.text);
  }
});
