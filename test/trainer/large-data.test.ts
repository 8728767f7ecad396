// Data-sized arrays must never be spread into a call: Amazon Beauty's 131,413 training prompts
// overflowed the stack in Math.max(...lengths) before the model was even created.
import { test } from "node:test";
import assert from "node:assert/strict";
import { longestPrompt } from "../../src/fgrpo/trainer/run.js";

test("longestPrompt handles more prompts than a call can take arguments", () => {
  const examples = Array.from({ length: 300_000 }, (_, i) => ({ promptIds: new Array<number>(i === 123_456 ? 77 : 5).fill(0) }));
  assert.equal(longestPrompt(examples), 77);
  assert.equal(longestPrompt([]), 0);
});
