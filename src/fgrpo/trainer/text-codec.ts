/**
 * The policy codec of a pretrained LLM (text mode): prompts are the task's text template
 * rendered as system/user chat messages through the tokenizer's own chat template (Qwen3 with
 * `enable_thinking: false`, so the completion starts right after the empty think block);
 * completions are `<SLATE> [4] [11] </SLATE> <RANK> [11] > [4] </RANK>` + EOS, sampled under
 * the character automaton over the real vocabulary (automaton-text.ts).
 */
import type { TokenConstraint } from "../../generation/constraint.js";
import { HfTokenizer } from "../../models/tokenizers/hf-tokenizer.js";
import { ChatTemplate } from "../../models/tokenizers/chat-template.js";
import { saveTokenizer } from "../../models/hf.js";
import { DEFAULT_PROMPT_TEMPLATES, readPromptTemplate, type PromptTemplate } from "../../tasks/prompt-templates.js";
import { textPrompt } from "../../tasks/prompts.js";
import type { RankingExample } from "../../tasks/types.js";
import { InputError } from "../../util/errors.js";
import { TextRolloutConstraint } from "../automaton-text.js";
import { TextRolloutCodec, type EncodingTextTokenizer } from "../grammar-text.js";
import { maxCompletionChars, type RolloutLayout } from "../layout.js";
import type { TrainConfig } from "./config.js";
import type { PolicyCodec, PoolGrammar } from "./policy-codec.js";

export class TextPolicyCodec implements PolicyCodec {
  readonly kind = "text";
  readonly eosId: number;
  readonly padId: number;
  /** What the grammar sees: every id's decoded string, the EOS, and the encoder. */
  readonly grammarTokenizer: EncodingTextTokenizer;
  private readonly chat: ChatTemplate | null;
  private readonly grammars = new Map<string, PoolGrammar>();
  /** Token counts of the texts prompts truncate (titles repeat across a dataset's prompts). */
  private readonly counts = new Map<string, number>();

  /** The tokenizer's chat template renders the prompts (the plain-text form when it has none). */
  constructor(
    readonly config: TrainConfig,
    readonly tokenizer: HfTokenizer,
    readonly template: PromptTemplate,
    source = "<tokenizer>",
  ) {
    if (tokenizer.eosId === null) throw new InputError("the tokenizer has no eos_token (tokenizer_config.json): text completions need one to end", { file: source, field: "eos_token" });
    this.eosId = tokenizer.eosId;
    this.padId = tokenizer.padId ?? this.eosId;
    this.grammarTokenizer = { pieces: tokenizer.tokenStrings(), eosIds: [this.eosId], encode: (s) => tokenizer.encode(s) };
    this.chat = ChatTemplate.of(tokenizer);
  }

  /**
   * The codec of an HF folder: tokenizer.json, tokenizer_config.json (special tokens, chat
   * template; chat_template.jinja wins, as in transformers), and the config's prompt template
   * (task.prompt_template, or the task's built-in one).
   */
  static fromFolder(config: TrainConfig, folder: string): TextPolicyCodec {
    return new TextPolicyCodec(config, HfTokenizer.load(folder), promptTemplateOf(config), folder);
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
    // Qwen3: answer directly, without a reasoning block (the layout is the whole answer);
    // templates without the switch ignore it.
    return this.chat === null ? p.text : this.chat.render(p.messages.map((m) => ({ ...m })), { addGenerationPrompt: true, enableThinking: false });
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

  /** tokenizer.json and tokenizer_config.json (which carries the chat template). */
  save(dir: string): void {
    saveTokenizer(dir, this.tokenizer);
  }

  describe(): string {
    return `tokenizer.json of ${this.tokenizer.vocabSize} tokens, ${this.chat ? "chat template" : "plain-text prompts"}`;
  }
}

/** The config's prompt template file, or the task's built-in template. */
export function promptTemplateOf(config: TrainConfig): PromptTemplate {
  const file = config.task.prompt_template;
  return file === null ? { ...DEFAULT_PROMPT_TEMPLATES[config.task.task] } : readPromptTemplate(file, config.task.task);
}

