import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../src/util/random.js";
import { goldTarget } from "../../src/tasks/gold.js";
import { completionSymbols, completionText, promptSymbols, textPrompt } from "../../src/tasks/prompts.js";
import { buildTaskVocab } from "../../src/tasks/vocab.js";
import type { RankingExample } from "../../src/tasks/types.js";

function recExample(poolSize: number, relevant: [number, number][], withRank = true): RankingExample {
  const pool = Array.from({ length: poolSize }, (_, i) => ({ id: `i${i}`, text: `Title ${i}` }));
  const ex: RankingExample = { id: "u", task: "rec", history: ["h1", "h2"], historyText: ["Old game", "New game"], pool, relevant: new Map(relevant.map(([i, g]) => [`i${i}`, g])) };
  if (withRank) ex.retrieverRank = pool.map((c) => c.id).reverse();
  return ex;
}

const qaExample: RankingExample = {
  id: "q",
  task: "qa",
  question: "Who founded Foo Fighters?",
  pool: [
    { id: "Foo Fighters", text: "Foo Fighters: Foo Fighters is a rock band formed by Dave Grohl." },
    { id: "Pearl Jam", text: "Pearl Jam: Pearl Jam is an American rock band." },
  ],
  relevant: new Map([["Foo Fighters", 1]]),
};

test("rec symbol prompt: history, then numbered pool items", () => {
  assert.deepEqual(promptSymbols(recExample(2, [[0, 1]])), ["<bos>", "<HIST>", "item:h1", "item:h2", "</HIST>", "<POOL>", "[1]", "item:i0", "[2]", "item:i1", "</POOL>"]);
});

test("QA symbol prompt: lower-cased words, passages truncated", () => {
  const s = promptSymbols(qaExample, { passageWords: 3 });
  assert.deepEqual(s, ["<bos>", "<Q>", "who", "founded", "foo", "fighters", "</Q>", "<POOL>", "[1]", "foo", "fighters", "foo", "[2]", "pearl", "jam", "pearl", "</POOL>"]);
});

test("completion renderings", () => {
  const t = { slate: [2, 4, 7], ranking: [4, 2] };
  assert.deepEqual(completionSymbols(t), ["<SLATE>", "[2]", "[4]", "[7]", "</SLATE>", "<RANK>", "[4]", "[2]", "</RANK>", "<eos>"]);
  assert.equal(completionText(t), "<SLATE> [2] [4] [7] </SLATE> <RANK> [4] > [2] </RANK>");
});

test("text prompt: chat messages and a plain fallback holding the query, the [i] pool and the layout", () => {
  const p = textPrompt(recExample(3, [[1, 1]]), { nMax: 2, kMax: 1 });
  assert.deepEqual(p.messages.map((m) => m.role), ["system", "user"]);
  const user = p.messages[1]!.content;
  assert.match(user, /1\. Old game\n2\. New game/);
  assert.match(user, /\[1\] Title 0\n\[2\] Title 1\n\[3\] Title 2/);
  assert.match(user, /between 1 and 2 candidates.*at most 1/);
  assert.match(user, /<SLATE> \[i\] \[j\] \.\.\. <\/SLATE> <RANK> \[j\] > \[i\] > \.\.\. <\/RANK>/);
  assert.ok(p.text.includes(user) && p.text.includes(p.messages[0]!.content));
  assert.match(textPrompt(qaExample).messages[1]!.content, /Question: Who founded Foo Fighters\?[\s\S]*\[2\] Pearl Jam: Pearl Jam/);
});

test("gold target: gold first in the ranking (by grade), retriever filler, slate in position order", () => {
  const ex = recExample(20, [[5, 1], [9, 2]]);
  const t = goldTarget(ex, { nMax: 4, kMax: 3 });
  // Gold: position 10 (grade 2), 6 (grade 1); retriever order is i19, i18, … → positions 20, 19.
  assert.deepEqual(t.ranking, [10, 6, 20]);
  assert.deepEqual(t.slate, [6, 10, 19, 20]);
  assert.deepEqual(goldTarget(ex, { nMax: 4, kMax: 3, slateOrder: "gold-first" }).slate, [10, 6, 20, 19]);
  assert.deepEqual(goldTarget(ex, { nMax: 3, kMax: 3, filler: "pool" }).slate, [1, 6, 10]);
  assert.throws(() => goldTarget(recExample(5, [[0, 1]], false), { filler: "retriever" }), /retrieverRank/);
  assert.throws(() => goldTarget(recExample(5, [[0, 1]], false), { filler: "random" }), /rng/);
});

test("gold target validity (property): distinct, in pool, ranking ⊂ slate, sizes, gold covered", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 8 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { maxLength: 6 }),
      fc.constantFrom("retriever", "random", "pool"),
      fc.integer(),
      (n, nMax, kMax, goldIdx, filler, seed) => {
        const gold = goldIdx.filter((i) => i < n);
        const ex = recExample(n, gold.map((i, r) => [i, 1 + (r % 2)]));
        const t = goldTarget(ex, { nMax, kMax, filler: filler as "pool", rng: new Rng(seed) });
        const slate = new Set(t.slate);
        assert.equal(slate.size, t.slate.length);
        assert.equal(new Set(t.ranking).size, t.ranking.length);
        assert.ok(t.slate.every((p) => Number.isInteger(p) && p >= 1 && p <= n));
        assert.ok(t.ranking.every((p) => slate.has(p)));
        assert.equal(t.slate.length, Math.min(nMax, n));
        assert.equal(t.ranking.length, Math.min(kMax, nMax, n));
        const goldPos = gold.map((i) => i + 1);
        assert.equal(t.slate.filter((p) => goldPos.includes(p)).length, Math.min(gold.length, Math.min(nMax, n)));
        // The ranking starts with gold ids as long as there are any.
        const lead = t.ranking.slice(0, Math.min(gold.length, t.ranking.length));
        assert.ok(lead.every((p) => goldPos.includes(p)));
      },
    ),
  );
});

test("buildTaskVocab: specials, tags, [1]…[N], then content by frequency with min-count and cap", () => {
  const a = recExample(3, [[0, 1]]);
  const b = { ...recExample(3, [[0, 1]]), history: ["h1"] };
  const v = buildTaskVocab([a, b], { poolSize: 3, minCount: 2 });
  assert.deepEqual(v.symbols.slice(0, 4), ["<pad>", "<bos>", "<eos>", "<unk>"]);
  for (const s of ["<HIST>", "</POOL>", "<SLATE>", "</SLATE>", "<RANK>", "</RANK>", "[1]", "[3]"]) assert.ok(v.has(s), s);
  assert.ok(!v.has("[4]"));
  // h1 and the pool items occur twice; h2 once (below min-count).
  assert.ok(v.has("item:h1") && v.has("item:i2") && !v.has("item:h2"));
  const capped = buildTaskVocab([a, b], { poolSize: 3, maxSymbols: 2 });
  assert.equal(capped.size, buildTaskVocab([], { poolSize: 3 }).size + 2);
  assert.deepEqual(buildTaskVocab([a, b]).symbols, buildTaskVocab([a, b]).symbols);
  // Prompts encode without <unk> under their own vocabulary.
  const full = buildTaskVocab([qaExample]);
  assert.ok(!full.encode(promptSymbols(qaExample)).includes(full.unkId));
  assert.ok(!full.encode(completionSymbols({ slate: [1, 20], ranking: [20] })).includes(full.unkId));
});
