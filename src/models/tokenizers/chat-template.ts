/**
 * Chat templates: the tokenizer's own Jinja `chat_template` (tokenizer_config.json or
 * chat_template.jinja) rendered with @huggingface/jinja, the maintained implementation that
 * transformers.js uses, with the variables transformers' `apply_chat_template` passes: `messages`,
 * `add_generation_prompt`, the special tokens (`bos_token`, `eos_token`, …) and any extra keyword
 * such as Qwen3's `enable_thinking`. Ids are the rendered text encoded without adding special
 * tokens, as transformers does (the template writes them itself).
 */
import { Template } from "@huggingface/jinja";
import { InputError } from "../../util/errors.js";
import type { HfTokenizer } from "./hf-tokenizer.js";

export interface ChatMessage {
  role: string;
  content: string;
  /** Other fields a template may read (reasoning_content, tool_calls, …). */
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so the model writes the reply (default false). */
  addGenerationPrompt?: boolean;
  /**
   * Qwen3's switch: false makes the generation prompt an empty `<think>\n\n</think>\n\n` block
   * (no reasoning). Omitted: the template's default (thinking on for Qwen3).
   */
  enableThinking?: boolean;
  /** Tool descriptions (JSON schemas) for templates that list them. */
  tools?: unknown[];
  /** Further template variables, passed as transformers passes **kwargs. */
  extra?: Record<string, unknown>;
}

const compiled = new WeakMap<HfTokenizer, ChatTemplate | null>();

/** A compiled chat template; compile once, render per prompt. */
export class ChatTemplate {
  private readonly template: Template;

  /** `specialTokens`: bos_token, eos_token, … as strings, as transformers passes them. */
  constructor(
    readonly source: string,
    private readonly specialTokens: Record<string, unknown> = {},
    private readonly file = "chat_template",
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new InputError(`chat template does not parse: ${(e as Error).message}`, { file, field: "chat_template" });
    }
  }

  /** The tokenizer's template (null when it has none), compiled once per tokenizer. */
  static of(tokenizer: HfTokenizer): ChatTemplate | null {
    if (!compiled.has(tokenizer)) compiled.set(tokenizer, ChatTemplate.compile(tokenizer));
    return compiled.get(tokenizer)!;
  }

  private static compile(tokenizer: HfTokenizer): ChatTemplate | null {
    const source = tokenizer.chatTemplate;
    if (source === null) return null;
    const specials: Record<string, unknown> = {};
    for (const key of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]) {
      const v = tokenizer.config[key];
      const name = typeof v === "string" ? v : v && typeof v === "object" ? (v as { content?: unknown }).content : undefined;
      if (typeof name === "string") specials[key] = name;
    }
    const extra = tokenizer.config.additional_special_tokens;
    if (Array.isArray(extra)) specials.additional_special_tokens = extra;
    return new ChatTemplate(source, specials, "tokenizer_config.json");
  }

  render(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
    for (const [i, m] of messages.entries()) {
      if (typeof m.role !== "string" || typeof m.content !== "string") throw new InputError(`message ${i} needs a string role and content`, { field: `messages[${i}]` });
    }
    const vars: Record<string, unknown> = {
      ...this.specialTokens,
      ...(opts.extra ?? {}),
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    };
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    if (opts.tools !== undefined) vars.tools = opts.tools;
    try {
      return this.template.render(vars);
    } catch (e) {
      throw new InputError(`chat template failed: ${(e as Error).message}`, { file: this.file, field: "chat_template" });
    }
  }
}

/**
 * Renders `messages` with the tokenizer's chat template and encodes the text (no special tokens
 * added: the template writes them). Throws an InputError when the tokenizer has no template.
 */
export function applyChatTemplate(tokenizer: HfTokenizer, messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): { text: string; ids: number[] } {
  const template = ChatTemplate.of(tokenizer);
  if (!template) throw new InputError("the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja)", { field: "chat_template" });
  const text = template.render(messages, opts);
  return { text, ids: tokenizer.encode(text) };
}
