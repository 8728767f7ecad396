/**
 * The policy codec of a pretrained LLM (text mode): prompts are the task's text template
 * rendered as system/user chat messages through the tokenizer's own chat template (Qwen3 with
 * `enable_thinking: false`, so the completion starts right after the empty think block);
 * completions are `<SLATE> [4] [11] </SLATE> <RANK> [11] > [4] </RANK>` + EOS, sampled under
 * the character automaton over the real vocabulary (automaton-text.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import type { TokenConstraint } from "../../generation/constraint.js";
import { HfTokenizer } from "../../models/tokenizers/hf-tokenizer.js";
import { saveTokenizer } from "../../models/hf.js";
import { DEFAULT_PROMPT_TEMPLATES, readPromptTemplate, type PromptTemplate } from "../../tasks/prompt-templates.js";
import { textPrompt, type ChatMessage } from "../../tasks/prompts.js";
import type { RankingExample } from "../../tasks/types.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { InputError } from "../../util/errors.js";
import { TextRolloutConstraint } from "../automaton-text.js";
import { TextRolloutCodec, type EncodingTextTokenizer } from "../grammar-text.js";
import { maxCompletionChars, type RolloutLayout } from "../layout.js";
import type { TrainConfig } from "./config.js";
import type { PolicyCodec, PoolGrammar } from "./policy-codec.js";

/** Piece strings per tokenizer: decoding 150k byte-level tokens once, not once per codec. */
const PIECES = new WeakMap<HfTokenizer, string[]>();

function piecesOf(tokenizer: HfTokenizer): string[] {
  let p = PIECES.get(tokenizer);
  if (!p) PIECES.set(tokenizer, (p = tokenizer.tokenStrings()));
  return p;
}

export class TextPolicyCodec implements PolicyCodec {
  readonly kind = "text";
  readonly eosId: number;
  readonly padId: number;
  /** What the grammar sees: every id's decoded string, the EOS, and the encoder. */
  readonly grammarTokenizer: EncodingTextTokenizer;
  private readonly chat: Template | null;
  private readonly grammars = new Map<string, PoolGrammar>();
  /** Token counts of the texts prompts truncate (titles repeat across a dataset's prompts). */
  private readonly counts = new Map<string, number>();

  /**
   * `chatTemplate`: the Jinja source (null = no chat template: the plain-text prompt is used).
   * `source` names the folder in errors.
   */
  constructor(
    readonly config: TrainConfig,
    readonly tokenizer: HfTokenizer,
    readonly template: PromptTemplate,
    readonly chatTemplate: string | null,
    source = "<tokenizer>",
  ) {
    if (tokenizer.eosId === null) throw new InputError("the tokenizer has no eos_token (tokenizer_config.json): text completions need one to end", { file: source, field: "eos_token" });
    this.eosId = tokenizer.eosId;
    const padName = tokenizer.config.pad_token;
    const pad = typeof padName === "string" ? tokenizer.encode(padName) : [];
    this.padId = pad.length === 1 ? pad[0]! : this.eosId;
    const pieces = piecesOf(tokenizer);
    this.grammarTokenizer = { pieces, eosIds: [this.eosId], encode: (s) => tokenizer.encode(s) };
    try {
      this.chat = chatTemplate === null ? null : new Template(chatTemplate);
    } catch (e) {
      throw new InputError(`unusable chat_template: ${(e as Error).message}`, { file: source, field: "chat_template" });
    }
  }

  /**
   * The codec of an HF folder: tokenizer.json, tokenizer_config.json (special tokens and
   * chat_template; a chat_template.jinja file beside it wins, as in transformers), and the
   * config's prompt template (task.prompt_template, or the task's built-in one).
   */
  static fromFolder(config: TrainConfig, folder: string): TextPolicyCodec {
    const tokenizer = HfTokenizer.load(folder);
    const jinjaFile = join(folder, "chat_template.jinja");
    const inConfig = tokenizer.config.chat_template;
    const chat = existsSync(jinjaFile) ? readFileSync(jinjaFile, "utf8") : typeof inConfig === "string" ? inConfig : null;
    return new TextPolicyCodec(config, tokenizer, promptTemplateOf(config), chat, folder);
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  /** The prompt text the model reads: the chat template's rendering, or the plain-text form. */
  promptText(example: RankingExample): string {
    const p = textPrompt(example, {
      nMax: this.config.layout.n_max,
      kMax: this.config.layout.k_max,
      maxHistory: this.config.task.max_history,
      template: this.template,
      countTokens: (s) => this.countTokens(s),
    });
    return this.chat === null ? p.text : this.renderChat(p.messages);
  }

  private countTokens(s: string): number {
    let n = this.counts.get(s);
    if (n === undefined) {
      if (this.counts.size >= 200_000) this.counts.clear(); // bounds memory on huge datasets
      this.counts.set(s, (n = this.tokenizer.encode(s).length));
    }
    return n;
  }

  encodePrompt(example: RankingExample): number[] {
    return this.tokenizer.encode(this.promptText(example));
  }

  grammar(_example: RankingExample, layout: RolloutLayout): PoolGrammar {
    const key = `${layout.poolSize}/${layout.nMax}/${layout.kMax}`;
    let g = this.grammars.get(key);
    if (!g) {
      const constraint = new TextRolloutConstraint(this.grammarTokenizer, layout) as TokenConstraint<unknown>;
      this.grammars.set(key, (g = { codec: new TextRolloutCodec(this.grammarTokenizer, layout), constraint }));
    }
    return g;
  }

  /** Every character a token of its own at worst, plus EOS. */
  maxCompletionTokens(layout: RolloutLayout): number {
    return maxCompletionChars(layout) + 1;
  }

  save(dir: string): void {
    saveTokenizer(dir, this.tokenizer);
    if (this.chatTemplate !== null && this.tokenizer.config.chat_template !== this.chatTemplate) writeFileAtomic(join(dir, "chat_template.jinja"), this.chatTemplate);
  }

  describe(): string {
    return `tokenizer.json of ${this.tokenizer.vocabSize} tokens, ${this.chat ? "chat template" : "plain-text prompts"}`;
  }

  private renderChat(messages: ChatMessage[]): string {
    const name = (v: unknown) => (typeof v === "string" ? v : (v as { content?: string } | null)?.content ?? "");
    return this.chat!.render({
      messages,
      add_generation_prompt: true,
      // Qwen3: answer directly, without a reasoning block (the layout is the whole answer).
      enable_thinking: false,
      bos_token: name(this.tokenizer.config.bos_token),
      eos_token: name(this.tokenizer.config.eos_token),
    });
  }
}

/** The config's prompt template file, or the task's built-in template. */
export function promptTemplateOf(config: TrainConfig): PromptTemplate {
  const file = config.task.prompt_template;
  return file === null ? { ...DEFAULT_PROMPT_TEMPLATES[config.task.task] } : readPromptTemplate(file, config.task.task);
}

/** True when a folder is a pretrained text model (it has tokenizer.json, not our vocab.json). */
export function isTextPolicyFolder(folder: string): boolean {
  return existsSync(join(folder, "tokenizer.json")) && !existsSync(join(folder, "vocab.json"));
}
