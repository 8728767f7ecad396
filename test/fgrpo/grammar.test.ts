import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TaskVocab } from "../../src/models/task-vocab.js";
import {
  DEFAULT_LAYOUT,
  isValidRollout,
  maxCompletionChars,
  maxCompletionTokens,
  charSpanToTokenSpan,
  parseRolloutText,
  parseTextCompletion,
  renderRolloutText,
  rolloutSymbols,
  VocabRolloutCodec,
  type RolloutLayout,
} from "../../src/fgrpo/grammar.js";
import { charTokenizer, encodeGreedy, pieceTokenizer, validRolloutArb } from "./toy-tokenizers.js";

const L = DEFAULT_LAYOUT;

test("text rendering is the canonical layout", () => {
  assert.equal(renderRolloutText({ slate: [4, 11, 2], ranking: [11, 4] }), "<SLATE> [4] [11] [2] </SLATE> <RANK> [11] > [4] </RANK>");
});

test("text parsing tolerates whitespace and either rank separator", () => {
  for (const text of [
    "<SLATE> [4] [11] [2] </SLATE> <RANK> [11] > [4] </RANK>",
    "<SLATE>[4][11][2]</SLATE><RANK>[11]>[4]</RANK>",
    "  <SLATE>\n [ 4 ]  [11]\t[2] </SLATE>\n<RANK> [11] [4] </RANK>\n",
    "<SLATE> [4] [11] [2] </SLATE> <RANK> [11]   >   [4] </RANK>",
  ]) {
    const p = parseRolloutText(text, L);
    assert.equal(p.status, "ok", `${JSON.stringify(text)}: ${p.detail}`);
    assert.deepEqual([p.slate, p.ranking], [[4, 11, 2], [11, 4]]);
  }
  const text = "  <SLATE> [4] </SLATE> <RANK> [4] </RANK> ";
  const p = parseRolloutText(text, L);
  assert.equal(text.slice(p.slateSpan!.start, p.slateSpan!.end), "<SLATE> [4] </SLATE>");
  assert.equal(text.slice(p.rankSpan!.start, p.rankSpan!.end), "<RANK> [4] </RANK>");
});

test("taxonomy: one case per status, and the precedence when several apply", () => {
  const small: RolloutLayout = { poolSize: 20, nMax: 3, kMax: 2 };
  const cases: [string, string][] = [
    ["<SLATE> [1] [2] </SLATE> <RANK> [2] > [1] </RANK>", "ok"],
    ["<SLATE> [1] [2] <RANK> [2] </RANK>", "wrong_format"], // no </SLATE>
    ["<SLATE> </SLATE> <RANK> [2] </RANK>", "wrong_format"], // empty slate
    ["<SLATE> [1] </SLATE> <RANK> </RANK>", "wrong_format"], // empty ranking
    ["<SLATE> [1] </SLATE> <RANK> [1] </RANK> thanks!", "wrong_format"], // text after the end
    ["Sure: <SLATE> [1] </SLATE> <RANK> [1] </RANK>", "wrong_format"], // text before
    ["<SLATE> [1] > [2] </SLATE> <RANK> [1] </RANK>", "wrong_format"], // ">" inside the slate
    ["<SLATE> [1] [2] </SLATE> <RANK> [1] > </RANK>", "wrong_format"], // trailing ">"
    ["<RANK> [1] </RANK> <SLATE> [1] </SLATE>", "wrong_format"], // phases swapped
    ["<SLATE> [1] [21] </SLATE> <RANK> [1] </RANK>", "out_of_pool"],
    ["<SLATE> [0] </SLATE> <RANK> [0] </RANK>", "out_of_pool"],
    ["<SLATE> [1] [1] </SLATE> <RANK> [1] </RANK>", "repetition"],
    ["<SLATE> [1] [2] </SLATE> <RANK> [1] > [1] </RANK>", "repetition"],
    ["<SLATE> [1] [2] [3] [4] </SLATE> <RANK> [1] </RANK>", "too_long"],
    ["<SLATE> [1] [2] [3] </SLATE> <RANK> [1] > [2] > [3] </RANK>", "too_long"],
    ["<SLATE> [1] [2] </SLATE> <RANK> [7] </RANK>", "rank_not_in_slate"],
    // precedence: out_of_pool > repetition > too_long > rank_not_in_slate
    ["<SLATE> [21] [21] </SLATE> <RANK> [1] </RANK>", "out_of_pool"],
    ["<SLATE> [1] [1] [2] [3] </SLATE> <RANK> [9] </RANK>", "repetition"],
    ["<SLATE> [1] [2] [3] [4] </SLATE> <RANK> [9] </RANK>", "too_long"],
  ];
  for (const [text, status] of cases) {
    const p = parseRolloutText(text, small);
    assert.equal(p.status, status, `${text}: ${p.detail}`);
    assert.equal(p.detail === "", status === "ok");
  }
});

test("wrong_format rollouts get best-effort spans that cover the completion", () => {
  const text = "<SLATE> [1] [2] </SLATE> junk <RANK> [2]";
  const p = parseRolloutText(text, L);
  assert.equal(p.status, "wrong_format");
  assert.deepEqual(p.slateSpan, { start: 0, end: text.indexOf("</SLATE>") + 8 });
  assert.deepEqual(p.rankSpan, { start: text.indexOf("<RANK>"), end: text.length });
  const none = parseRolloutText("no idea", L);
  assert.deepEqual([none.slateSpan, none.rankSpan], [{ start: 0, end: 7 }, null]);
});

function codecFor(layout: RolloutLayout, extra: string[] = []): VocabRolloutCodec {
  // Shuffle-ish order (ids reversed, filler words first) so token ids are not ascending in pool position.
  return new VocabRolloutCodec(new TaskVocab(["item:7", ...extra, ...rolloutSymbols(layout).reverse()]), layout);
}

test("token-vocabulary rendering, parsing and taxonomy", () => {
  const layout: RolloutLayout = { poolSize: 20, nMax: 3, kMax: 2 };
  const codec = codecFor(layout, ["[25]"]);
  const v = codec.vocab;
  const ids = (...s: string[]): number[] => s.map((x) => v.id(x, true));
  const tokens = codec.render({ slate: [4, 11], ranking: [11] });
  assert.deepEqual(v.decode(tokens), ["<SLATE>", "[4]", "[11]", "</SLATE>", "<RANK>", "[11]", "</RANK>", "<eos>"]);
  const p = codec.parse(tokens);
  assert.equal(p.status, "ok");
  assert.deepEqual([p.slate, p.ranking, p.slateSpan, p.rankSpan], [[4, 11], [11], { start: 0, end: 4 }, { start: 4, end: 8 }]);
  const status = (...s: string[]): string => codec.parse(ids(...s)).status;
  assert.equal(status("<SLATE>", "[4]", "</SLATE>", "<RANK>", "[4]", "</RANK>"), "wrong_format"); // no <eos>
  assert.equal(status("<SLATE>", "[4]", "</SLATE>", "<RANK>", "[4]", "</RANK>", "<eos>", "<pad>"), "wrong_format");
  assert.equal(status("<SLATE>", "[4]", "item:7", "</SLATE>", "<RANK>", "[4]", "</RANK>", "<eos>"), "wrong_format");
  assert.equal(status("<SLATE>", "[25]", "</SLATE>", "<RANK>", "[25]", "</RANK>", "<eos>"), "out_of_pool");
  assert.equal(status("<SLATE>", "[4]", "[4]", "</SLATE>", "<RANK>", "[4]", "</RANK>", "<eos>"), "repetition");
  assert.equal(status("<SLATE>", "[1]", "[2]", "[3]", "[4]", "</SLATE>", "<RANK>", "[4]", "</RANK>", "<eos>"), "too_long");
  assert.equal(status("<SLATE>", "[1]", "</SLATE>", "<RANK>", "[2]", "</RANK>", "<eos>"), "rank_not_in_slate");
  assert.throws(() => new VocabRolloutCodec(new TaskVocab(rolloutSymbols({ ...layout, poolSize: 5 })), layout), /no "\[6\]"/);
});

test("text completions: token spans from character spans, straddling tokens go to the slate", () => {
  const tok = pieceTokenizer();
  const text = "<SLATE> [10] [2] </SLATE> <RANK> [2] > [10] </RANK>";
  const tokens = [...encodeGreedy(tok, text), tok.eosIds[1]!];
  const p = parseTextCompletion(tokens, tok, L);
  assert.equal(p.status, "ok", p.detail);
  assert.equal(p.text, text);
  assert.deepEqual([p.slate, p.ranking], [[10, 2], [2, 10]]);
  const piece = (i: number): string => tok.pieces[tokens[i]!]!;
  const joined = (s: { start: number; end: number }): string => tokens.slice(s.start, s.end).map((t) => tok.pieces[t]).join("");
  assert.ok(joined(p.slateSpan!).startsWith("<SLATE>") && joined(p.slateSpan!).includes("</SLATE>"), joined(p.slateSpan!));
  assert.ok(joined(p.rankSpan!).includes("</RANK>"), joined(p.rankSpan!));
  assert.equal(p.rankSpan!.end, tokens.length, "the rank span ends with the EOS");
  assert.ok(p.slateSpan!.end <= p.rankSpan!.start);
  // "] </SLATE> <RANK> [" holds the end of the slate and the start of the ranking: it is slate.
  const straddle = tokens.findIndex((t) => tok.pieces[t] === "] </SLATE> <RANK> [");
  assert.ok(straddle >= 0, "the greedy encoding uses the straddling piece");
  assert.ok(straddle < p.slateSpan!.end && p.rankSpan!.start === straddle + 1, `${piece(straddle)} at ${straddle}`);
  const truncated = parseTextCompletion(tokens.slice(0, -1), tok, L);
  assert.equal(truncated.status, "wrong_format");
  assert.match(truncated.detail, /end of sequence/);
});

test("property: parse(render(x)) = x in the token vocabulary", () => {
  fc.assert(
    fc.property(validRolloutArb(), ({ layout, rollout }) => {
      const codec = codecFor(layout);
      const tokens = codec.render(rollout);
      assert.ok(tokens.length <= maxCompletionTokens(layout));
      const p = codec.parse(tokens);
      assert.equal(p.status, "ok", p.detail);
      assert.deepEqual({ slate: p.slate, ranking: p.ranking }, rollout);
      assert.deepEqual(p.slateSpan, { start: 0, end: rollout.slate.length + 2 });
      assert.deepEqual(p.rankSpan, { start: rollout.slate.length + 2, end: tokens.length });
    }),
    { numRuns: 300 },
  );
});

test("property: parse(render(x)) = x as text, through two tokenizers", () => {
  fc.assert(
    fc.property(validRolloutArb(), fc.boolean(), ({ layout, rollout }, usePieces) => {
      assert.ok(isValidRollout(rollout, layout));
      const text = renderRolloutText(rollout);
      assert.ok(text.length <= maxCompletionChars(layout));
      const plain = parseRolloutText(text, layout);
      assert.equal(plain.status, "ok", plain.detail);
      assert.deepEqual({ slate: plain.slate, ranking: plain.ranking }, rollout);
      const tok = usePieces ? pieceTokenizer() : charTokenizer();
      const tokens = [...encodeGreedy(tok, text), tok.eosIds[0]!];
      const p = parseTextCompletion(tokens, tok, layout);
      assert.equal(p.status, "ok", p.detail);
      assert.deepEqual({ slate: p.slate, ranking: p.ranking }, rollout);
      if (!usePieces) {
        // one token per character: token spans are the character spans, plus the EOS
        assert.deepEqual(p.slateSpan, plain.slateSpan);
        assert.deepEqual(p.rankSpan, { start: plain.rankSpan!.start, end: plain.rankSpan!.end + 1 });
      }
    }),
    { numRuns: 300 },
  );
});

test("maxCompletionChars is reached by the longest rollout", () => {
  const layout: RolloutLayout = { poolSize: 20, nMax: 10, kMax: 5 };
  const slate = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  assert.equal(renderRolloutText({ slate, ranking: slate.slice(0, 5) }).length, maxCompletionChars(layout));
});

test("charSpanToTokenSpan covers every token holding a character of the span, empty tokens inside included", () => {
  const pieces = ["<SL", "ATE> [", "", "4] ", "</SLATE>"]; // characters 0-2, 3-8, (empty), 9-11, 12-19
  assert.deepEqual(charSpanToTokenSpan(pieces, { start: 0, end: 20 }), { start: 0, end: 5 });
  assert.deepEqual(charSpanToTokenSpan(pieces, { start: 8, end: 10 }), { start: 1, end: 4 }); // "[4": tokens 1..3
  assert.deepEqual(charSpanToTokenSpan(pieces, { start: 12, end: 20 }), { start: 4, end: 5 });
  assert.deepEqual(charSpanToTokenSpan(pieces, { start: 5, end: 5 }), { start: 1, end: 1 });
  assert.deepEqual(charSpanToTokenSpan(pieces, { start: 20, end: 20 }), { start: 5, end: 5 });
});
