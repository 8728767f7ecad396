import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { DEFAULT_PROMPT_TEMPLATES, fillTemplate, readPromptTemplate, truncateToTokens } from "../../src/tasks/prompt-templates.js";
import { textPrompt } from "../../src/tasks/prompts.js";
import type { RankingExample } from "../../src/tasks/types.js";
import { InputError } from "../../src/util/errors.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "fgrpo-tpl-"));

const rec: RankingExample = {
  id: "u", task: "rec", history: ["a", "b", "c"], historyText: ["Old game one", "Middle game", "New game with a very long title indeed"],
  pool: [{ id: "x", text: "Mario Kart 8 Deluxe for the Nintendo Switch" }, { id: "y", text: "FIFA" }], relevant: new Map([["x", 1]]),
};

test("configs/prompts/{rec,qa}.json are the built-in defaults (what docs/tasks.md documents)", () => {
  for (const task of ["rec", "qa"] as const) {
    const file = join(ROOT, "configs", "prompts", `${task}.json`);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), DEFAULT_PROMPT_TEMPLATES[task]);
    assert.deepEqual(readPromptTemplate(file, task), DEFAULT_PROMPT_TEMPLATES[task]);
  }
});

test("a template file overrides some fields and keeps the task defaults for the others", () => {
  const file = join(work, "mine.json");
  writeFileSync(file, JSON.stringify({ system: "", candidate: "({i}) {text}", title_tokens: 3 }));
  const tpl = readPromptTemplate(file, "rec");
  assert.equal(tpl.user, DEFAULT_PROMPT_TEMPLATES.rec.user);
  const p = textPrompt(rec, { template: tpl, nMax: 2, kMax: 1, maxHistory: 2 });
  assert.equal(p.messages.length, 1, "an empty system message is left out");
  const user = p.messages[0]!.content;
  assert.match(user, /\n1\. Middle game\n2\. New game with\n/); // the last 2 items, titles cut to 3 "tokens" (words here)
  assert.match(user, /\(1\) Mario Kart 8\n\(2\) FIFA\n/);
  assert.match(user, /between 1 and 2 candidates.*at most 1 of/);
  assert.doesNotMatch(user, /\{[a-z_]+\}/);
});

test("template errors name the file and the field", () => {
  const bad = (value: unknown, pattern: RegExp, field: string) => {
    const file = join(work, `bad-${field}.json`);
    writeFileSync(file, JSON.stringify(value));
    assert.throws(() => readPromptTemplate(file, "qa"), (e: unknown) => e instanceof InputError && pattern.test(e.message) && e.message.includes(file) && e.message.includes(field));
  };
  bad({ usr: "x" }, /unknown field/, "(root)");
  bad({ user: "{question} {candidates} {history}" }, /unknown placeholder \{history\}/, "user");
  bad({ user: "{question}" }, /must contain \{candidates\}/, "user");
  bad({ candidate: "[{id}] {text}" }, /unknown placeholder \{id\}/, "candidate");
  bad({ title_tokens: 0 }, /greater than 0|>0|positive/i, "title_tokens");
});

test("fillTemplate replaces in one pass: inserted text is never re-scanned", () => {
  assert.equal(fillTemplate("{a} and {b}", { a: "{b}", b: "B" }), "{b} and B");
});

test("truncateToTokens keeps the longest whole-word prefix within the budget (property, two token counters)", () => {
  // Both count at least one token per word, as BPE and SentencePiece tokenizers do.
  const wordCount = (s: string) => s.split(/\s+/).filter(Boolean).length;
  const counters = [wordCount, (s: string) => wordCount(s) + Math.ceil(s.length / 5)];
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,7}$/), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1 }), (words, budget, which) => {
      const count = counters[which]!;
      const text = words.join(" ");
      const out = truncateToTokens(text, budget, count);
      let best = 1; // the reference: a linear scan, at least one word
      for (let k = 1; k <= words.length; k++) if (count(words.slice(0, k).join(" ")) <= budget) best = k;
      assert.equal(out, words.slice(0, best).join(" "));
    }),
    { numRuns: 300, seed: 5 },
  );
});
