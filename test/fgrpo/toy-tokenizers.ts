// Toy text tokenizers and generators shared by the grammar and automaton tests.
import fc from "fast-check";
import type { TextTokenizer } from "../../src/fgrpo/grammar-text.js";
import type { Rollout, RolloutLayout } from "../../src/fgrpo/layout.js";

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).concat(["\n"]);

/** One token per printable ASCII character; id 0 is the EOS ("</s>"). */
export function charTokenizer(): TextTokenizer {
  return { pieces: ["</s>", ...PRINTABLE], eosIds: [0] };
}

/**
 * Characters plus multi-character pieces that cut across the layout's symbols (ids 40 and 70
 * are two EOS tokens, as in chat models with an end-of-turn and an end-of-text token).
 */
export function pieceTokenizer(): TextTokenizer {
  const multi = [
    "[1", "0]", "] [", " > ", "<SLATE>", "</", "SLATE>", "RANK>", "<RANK>", "] </SLATE> <RANK> [",
    "> <", "[10]", "[2", "1]", "]", "12", " [", "> [", "hello", "<S", "LATE", "AN", "K>", " </RANK>",
    "[", "3] ", " </", "E> <R", "9]", "[1]", "] > [",
  ];
  const pieces = [...multi, ...PRINTABLE];
  pieces.splice(40, 0, "<|im_end|>");
  pieces.splice(70, 0, "<|endoftext|>");
  return { pieces, eosIds: [40, 70] };
}

/** Greedy longest-match encoding of text (no EOS appended). */
export function encodeGreedy(tok: TextTokenizer, text: string): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < text.length) {
    let best = -1;
    let bestLen = 0;
    tok.pieces.forEach((p, id) => {
      if (tok.eosIds.includes(id) || p.length <= bestLen || !text.startsWith(p, pos)) return;
      best = id;
      bestLen = p.length;
    });
    if (best < 0) throw new Error(`cannot encode ${JSON.stringify(text.slice(pos))}`);
    out.push(best);
    pos += bestLen;
  }
  return out;
}

/** Random layouts with N up to `maxPool`. */
export function layoutArb(maxPool = 30): fc.Arbitrary<RolloutLayout> {
  return fc.record({ poolSize: fc.integer({ min: 1, max: maxPool }), nMax: fc.integer({ min: 1, max: 12 }), kMax: fc.integer({ min: 1, max: 6 }) });
}

/** A layout and a valid rollout in it. */
export function validRolloutArb(maxPool = 30): fc.Arbitrary<{ layout: RolloutLayout; rollout: Rollout }> {
  return layoutArb(maxPool).chain((layout) => {
    const pool = Array.from({ length: layout.poolSize }, (_, i) => i + 1);
    return fc
      .shuffledSubarray(pool, { minLength: 1, maxLength: Math.min(layout.nMax, layout.poolSize) })
      .chain((slate) =>
        fc
          .shuffledSubarray(slate, { minLength: 1, maxLength: Math.min(layout.kMax, slate.length) })
          .map((ranking) => ({ layout, rollout: { slate, ranking } })),
      );
  });
}

/** Every valid rollout of a small layout (for exact oracles). */
export function allValidRollouts(layout: RolloutLayout): Rollout[] {
  const sequences = (items: number[], maxLen: number): number[][] => {
    const out: number[][] = [];
    const grow = (prefix: number[]): void => {
      if (prefix.length > 0) out.push(prefix);
      if (prefix.length === maxLen) return;
      for (const x of items) if (!prefix.includes(x)) grow([...prefix, x]);
    };
    grow([]);
    return out;
  };
  const pool = Array.from({ length: layout.poolSize }, (_, i) => i + 1);
  return sequences(pool, layout.nMax).flatMap((slate) => sequences(slate, layout.kMax).map((ranking) => ({ slate, ranking })));
}
