import type { Command } from "../main.js";
import { intOption, numberOption, parseCommand, requireString, UsageError, type CommandSpec } from "../args.js";
import { statSync } from "node:fs";
import { loadCheckpoint } from "../../models/checkpoint.js";
import { generationEosTokenIds } from "../../models/hf.js";
import type { Tokenizer } from "../../models/tokenizers/tokenizer.js";
import { HfTokenizer } from "../../models/tokenizers/hf-tokenizer.js";
import { applyChatTemplate, type ChatMessage } from "../../models/tokenizers/chat-template.js";
import { generate } from "../../generation/generate.js";
import { InputError } from "../../util/errors.js";

const spec: CommandSpec = {
  name: "generate",
  summary: "continue a prompt with a llama2.c checkpoint or an HF-layout model folder",
  usage: "fgrpo generate --checkpoint PATH [--tokenizer PATH] [--prompt TEXT] [--chat [--system TEXT] [--no-thinking]] --max-new-tokens N [--greedy | --temperature T --top-p P --top-k K --seed S] [--dtype D] [--json]",
  options: {
    checkpoint: { type: "string", valueName: "PATH", description: "a llama2.c version-1 .bin file or an HF folder (config.json, model.safetensors)" },
    tokenizer: { type: "string", valueName: "PATH", description: "tokenizer.bin, tokenizer.json or vocab.json (default: the one beside the checkpoint)" },
    prompt: { type: "string", valueName: "TEXT", description: "text to continue (default: start from BOS alone)" },
    chat: { type: "boolean", description: "send --prompt as a user message through the tokenizer's chat template, with the assistant header" },
    system: { type: "string", valueName: "TEXT", description: "with --chat: a system message first" },
    "no-thinking": { type: "boolean", description: "with --chat: enable_thinking=false (Qwen3: an empty <think></think> block, no reasoning)" },
    dtype: { type: "string", valueName: "D", description: "float32 (default), bfloat16, float16 or float64: the dtype weights are cast to and computed in" },
    "max-new-tokens": { type: "string", valueName: "N", description: "tokens to generate at most" },
    greedy: { type: "boolean", description: "take the most likely token at every step" },
    temperature: { type: "string", valueName: "T", description: "sampling temperature (default 1)" },
    "top-p": { type: "string", valueName: "P", description: "nucleus sampling mass in (0, 1] (default 1: off)" },
    "top-k": { type: "string", valueName: "K", description: "sample among the K most likely tokens (default 0: off)" },
    seed: { type: "string", valueName: "S", description: "sampling seed (default 0)" },
    json: { type: "boolean", description: 'print {"token_ids": [...], "text": ...} (the continuation only)' },
  },
};

/** The text the continuation adds after the prompt (decoding in context keeps SentencePiece's spaces right). */
function continuationText(tokenizer: Tokenizer, prompt: number[], continuation: number[]): string {
  const before = tokenizer.decode(prompt);
  const all = tokenizer.decode([...prompt, ...continuation]);
  return all.startsWith(before) ? all.slice(before.length) : tokenizer.decode(continuation);
}

const DTYPES = ["float32", "bfloat16", "float16", "float64"] as const;

const command: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (!parsed) return 0;
    const v = parsed.values;
    const checkpoint = requireString(v, "checkpoint");
    if (v["max-new-tokens"] === undefined) throw new UsageError("--max-new-tokens is required");
    const maxNewTokens = intOption(v, "max-new-tokens", 0);
    if (maxNewTokens < 1) throw new UsageError("--max-new-tokens must be at least 1");
    const greedy = v.greedy === true;
    if (greedy && (v.temperature !== undefined || v["top-p"] !== undefined || v["top-k"] !== undefined)) {
      throw new UsageError("--greedy cannot be combined with --temperature, --top-p or --top-k");
    }
    const temperature = numberOption(v, "temperature", 1);
    if (!(temperature > 0)) throw new UsageError("--temperature must be positive");
    const topP = numberOption(v, "top-p", 1);
    if (!(topP > 0 && topP <= 1)) throw new UsageError("--top-p must be in (0, 1]");
    const topK = intOption(v, "top-k", 0);
    if (topK < 0) throw new UsageError("--top-k must be non-negative");
    const seed = intOption(v, "seed", 0);
    const chat = v.chat === true;
    if (!chat && (v.system !== undefined || v["no-thinking"] !== undefined)) throw new UsageError("--system and --no-thinking need --chat");
    const dtype = typeof v.dtype === "string" ? v.dtype : "float32";
    if (!DTYPES.includes(dtype as (typeof DTYPES)[number])) throw new UsageError(`--dtype must be one of ${DTYPES.join(", ")}`);
    const { model, tokenizer } = loadCheckpoint(checkpoint, { tokenizer: typeof v.tokenizer === "string" ? v.tokenizer : undefined, dtype: dtype as (typeof DTYPES)[number] });
    try {
      const text = typeof v.prompt === "string" ? v.prompt : "";
      if (text !== "" && !tokenizer) throw new UsageError("--prompt needs a tokenizer: pass --tokenizer or put one beside the checkpoint");
      let prompt: number[];
      if (chat) {
        if (!(tokenizer instanceof HfTokenizer)) throw new UsageError("--chat needs an HF tokenizer (tokenizer.json) with a chat_template");
        const messages: ChatMessage[] = [...(typeof v.system === "string" ? [{ role: "system", content: v.system }] : []), { role: "user", content: text }];
        prompt = applyChatTemplate(tokenizer, messages, { addGenerationPrompt: true, ...(v["no-thinking"] === true ? { enableThinking: false } : {}) }).ids;
      } else {
        const bos = tokenizer?.bosId ?? model.config.bosTokenId;
        prompt = tokenizer ? tokenizer.encode(text, { bos: true }) : [];
        if (prompt.length === 0 && bos !== null) prompt.push(bos);
      }
      if (prompt.length === 0) throw new UsageError("the model has no BOS token: give a --prompt");
      const limit = model.config.maxPositionEmbeddings;
      if (prompt.length + maxNewTokens > limit) {
        // Fail before decoding, not at the step that runs out of positions.
        throw new UsageError(`the prompt (${prompt.length} tokens) plus --max-new-tokens ${maxNewTokens} exceeds the model's max_position_embeddings ${limit}`);
      }
      const fromGenerationConfig = statSync(checkpoint).isDirectory() ? generationEosTokenIds(checkpoint) : [];
      const stopTokens = [...new Set([...model.config.eosTokenIds, ...fromGenerationConfig, ...(tokenizer?.eosId != null ? [tokenizer.eosId] : [])])];
      let out;
      try {
        out = generate(model, [prompt], { maxNewTokens, greedy, temperature, topP, topK, seed, stopTokens });
      } catch (e) {
        // The sampler's error about the model's outputs (NaN weights) names no file: the checkpoint is it.
        if (e instanceof InputError && e.location.file === undefined) throw new InputError(e.message, { file: checkpoint });
        throw e;
      }
      const ids = out.completions[0]!;
      const continuation = tokenizer ? continuationText(tokenizer, prompt, ids) : null;
      if (v.json) console.log(JSON.stringify({ token_ids: ids, text: continuation }));
      else console.log(continuation === null ? ids.join(" ") : chat ? continuation : text + continuation);
      return 0;
    } finally {
      model.dispose();
    }
  },
};

export default command;
