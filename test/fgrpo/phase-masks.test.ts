import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TaskVocab } from "../../src/models/task-vocab.js";
import { parseTextCompletion, renderRolloutText, rolloutSymbols, VocabRolloutCodec, type RolloutLayout } from "../../src/fgrpo/grammar.js";
import { batchPhaseMasks, PHASE_OTHER, PHASE_RANK, PHASE_SLATE, phaseIds, type PhaseSpans } from "../../src/fgrpo/phase-masks.js";
import { encodeGreedy, pieceTokenizer, validRolloutArb } from "./toy-tokenizers.js";

function assertPartition(rollouts: (PhaseSpans & { length: number })[], width: number): void {
  const m = batchPhaseMasks(rollouts, width);
  rollouts.forEach((r, i) => {
    for (let t = 0; t < width; t++) {
      const at = i * width + t;
      const sum = m.slate[at]! + m.rank[at]! + m.other[at]!;
      assert.equal(sum, t < r.length ? 1 : 0, `row ${i}, token ${t}`);
      assert.equal(m.completion[at], t < r.length ? 1 : 0);
    }
  });
}

test("phase ids of a token-vocabulary rollout: slate span, rank span with EOS", () => {
  const layout: RolloutLayout = { poolSize: 5, nMax: 3, kMax: 2 };
  const codec = new VocabRolloutCodec(new TaskVocab(rolloutSymbols(layout)), layout);
  const tokens = codec.render({ slate: [2, 5], ranking: [5] });
  const ids = phaseIds(codec.parse(tokens), tokens.length);
  const S = PHASE_SLATE, R = PHASE_RANK;
  assert.deepEqual(Array.from(ids), [S, S, S, S, R, R, R, R]);
  assert.deepEqual(Array.from(phaseIds({ slateSpan: { start: 1, end: 2 }, rankSpan: null }, 3)), [PHASE_OTHER, S, PHASE_OTHER]);
  assert.throws(() => phaseIds({ slateSpan: { start: 0, end: 3 }, rankSpan: { start: 2, end: 4 } }, 4), /overlaps/);
  assert.throws(() => phaseIds({ slateSpan: { start: 0, end: 5 }, rankSpan: null }, 4), /does not fit/);
  assert.throws(() => batchPhaseMasks([{ slateSpan: null, rankSpan: null, length: 5 }], 4), /width 4/);
});

test("text rollouts: whitespace between the phases is other", () => {
  const tok = pieceTokenizer();
  const layout: RolloutLayout = { poolSize: 20, nMax: 10, kMax: 5 };
  const tokens = [...encodeGreedy(tok, "<SLATE> [3] </SLATE>"), ...encodeGreedy(tok, " "), ...encodeGreedy(tok, "<RANK> [3] </RANK>"), tok.eosIds[0]!];
  const p = parseTextCompletion(tokens, tok, layout);
  assert.equal(p.status, "ok", p.detail);
  const ids = phaseIds(p, tokens.length);
  const space = tokens.indexOf(tok.pieces.indexOf(" "));
  assert.equal(ids[space], PHASE_OTHER);
  assert.equal(ids[0], PHASE_SLATE);
  assert.equal(ids[tokens.length - 1], PHASE_RANK);
});

test("property: phase masks partition every completion, valid or not, in both tokenizations", () => {
  const tok = pieceTokenizer();
  const nonEos = tok.pieces.map((_, id) => id).filter((id) => !tok.eosIds.includes(id));
  fc.assert(
    fc.property(
      validRolloutArb(),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }),
      fc.array(fc.constantFrom(...nonEos, ...tok.eosIds), { maxLength: 30 }),
      ({ layout, rollout }, noise, textNoise) => {
        const codec = new VocabRolloutCodec(new TaskVocab(["x", ...rolloutSymbols(layout)]), layout);
        const rows: (PhaseSpans & { length: number })[] = [];
        const valid = codec.render(rollout);
        rows.push({ ...codec.parse(valid), length: valid.length });
        const noisy = noise.map((n) => n % codec.vocab.size);
        rows.push({ ...codec.parse(noisy), length: noisy.length });
        // a valid rollout with a random token spliced in
        const spliced = [...valid];
        if (noise.length > 0) spliced.splice(noise[0]! % (valid.length + 1), 0, noisy[0]!);
        rows.push({ ...codec.parse(spliced), length: spliced.length });
        const text = [...encodeGreedy(tok, renderRolloutText(rollout)), tok.eosIds[0]!];
        const p = parseTextCompletion(text, tok, layout);
        assert.equal(p.status, "ok");
        rows.push({ ...p, length: text.length });
        rows.push({ ...parseTextCompletion(textNoise, tok, layout), length: textNoise.length });
        const textSpliced = [...text];
        textSpliced.splice((textNoise[0] ?? 0) % text.length, 0, ...textNoise.slice(0, 2));
        rows.push({ ...parseTextCompletion(textSpliced, tok, layout), length: textSpliced.length });
        assertPartition(rows, Math.max(...rows.map((r) => r.length)) + 2);
        // a valid rollout has no "other" token in the token vocabulary, and its slate span holds |slate| + 2 tokens
        const ids = phaseIds(rows[0]!, valid.length);
        assert.equal(ids.filter((x) => x === PHASE_SLATE).length, rollout.slate.length + 2);
        assert.equal(ids.filter((x) => x === PHASE_RANK).length, rollout.ranking.length + 3);
      },
    ),
    { numRuns: 300 },
  );
});
