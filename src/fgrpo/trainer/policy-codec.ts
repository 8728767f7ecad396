/**
 * A policy codec is everything the trainer needs to know about how a policy reads and writes:
 * how an example becomes prompt ids, which completion ids spell a rollout of a pool (render),
 * what sampled ids mean (parse), which ids the grammar allows at each step (the constraint),
 * and which files make a saved policy folder self-describing. The trainer, evaluation and
 * `fgrpo rank` only talk to this interface, so one code path trains both kinds of policy:
 *
 * - `TaskVocabCodec`: a model trained from scratch on a task vocabulary (one token per tag,
 *   pool id or item); prompts are symbol sequences; saved as vocab.json.
 * - `TextPolicyCodec` (text-codec.ts): a pretrained LLM with its Hugging Face tokenizer;
 *   prompts are chat messages from a template; completions are text, decoded under the
 *   character automaton over the real vocabulary; saved as the tokenizer files.
 */
import { join } from "node:path";
import type { TokenConstraint } from "../../generation/constraint.js";
import { TaskVocab } from "../../models/task-vocab.js";
import { itemSymbol, promptSymbols } from "../../tasks/prompts.js";
import type { RankingExample } from "../../tasks/types.js";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { VocabRolloutConstraint } from "../automaton-vocab.js";
import { VocabRolloutCodec } from "../grammar-tokens.js";
import { idSymbol, maxCompletionTokens, type Rollout, type RolloutLayout } from "../layout.js";
import type { ParsedRollout } from "../parse-core.js";
import { idTokensOf, type TrainConfig } from "./config.js";

/** Renders and parses the completions of one pool layout. */
export interface RolloutCodec {
  readonly layout: RolloutLayout;
  /** The completion ids of a rollout, ending with EOS. */
  render(r: Rollout): number[];
  /** Parses completion ids (up to and including EOS); spans are token ranges. */
  parse(tokens: readonly number[]): ParsedRollout;
}

/** The codec and grammar automaton of one example's pool. */
export interface PoolGrammar {
  codec: RolloutCodec;
  constraint: TokenConstraint<unknown>;
}

export interface PolicyCodec {
  readonly kind: "task-vocab" | "text";
  /** Ids the codec can produce: the model's vocabulary must be at least this large. */
  readonly vocabSize: number;
  /** The id that ends a completion (generation stops on it). */
  readonly eosId: number;
  /** The id used to pad batches (its value never matters). */
  readonly padId: number;
  /** The prompt ids of an example. */
  encodePrompt(example: RankingExample): number[];
  /** The codec and constraint of an example's pool, for `layout` (its pool's size). */
  grammar(example: RankingExample, layout: RolloutLayout): PoolGrammar;
  /** Longest valid completion of a layout, in tokens (EOS included). */
  maxCompletionTokens(layout: RolloutLayout): number;
  /** Writes the files beside config.json + model.safetensors that let `loadPolicy` read the folder. */
  save(dir: string): void;
  /** One line for logs. */
  describe(): string;
}

/** The task-vocabulary policy: the layout's symbols are single tokens (grammar-tokens.ts). */
export class TaskVocabCodec implements PolicyCodec {
  readonly kind = "task-vocab";
  private readonly shared = new Map<string, PoolGrammar>();

  constructor(
    readonly config: TrainConfig,
    readonly vocab: TaskVocab,
  ) {}

  get vocabSize(): number {
    return this.vocab.size;
  }

  get eosId(): number {
    return this.vocab.eosId;
  }

  get padId(): number {
    return this.vocab.padId;
  }

  encodePrompt(example: RankingExample): number[] {
    const t = this.config.task;
    return this.vocab.encode(promptSymbols(example, { maxHistory: t.max_history, passageWords: t.max_passage_words }));
  }

  grammar(example: RankingExample, layout: RolloutLayout): PoolGrammar {
    if (idTokensOf(this.config) === "item") {
      const codec = new VocabRolloutCodec(this.vocab, layout, itemIdTokens(this.vocab, example));
      return { codec, constraint: new VocabRolloutConstraint(codec) as TokenConstraint<unknown> };
    }
    const key = `${layout.poolSize}/${layout.nMax}/${layout.kMax}`;
    let g = this.shared.get(key);
    if (!g) {
      const codec = new VocabRolloutCodec(this.vocab, layout);
      this.shared.set(key, (g = { codec, constraint: new VocabRolloutConstraint(codec) as TokenConstraint<unknown> }));
    }
    return g;
  }

  maxCompletionTokens(layout: RolloutLayout): number {
    return maxCompletionTokens(layout);
  }

  save(dir: string): void {
    writeFileAtomic(join(dir, "vocab.json"), JSON.stringify(this.vocab.toJSON()));
  }

  describe(): string {
    return `task vocabulary of ${this.vocab.size} symbols`;
  }
}

/**
 * Each candidate's own item token, or its "[i]" token when the vocabulary lacks the item or two
 * candidates would share a token (so every position stays addressable).
 */
function itemIdTokens(vocab: TaskVocab, example: RankingExample): Int32Array {
  const tokens = example.pool.map((c) => (vocab.has(itemSymbol(c.id)) ? vocab.id(itemSymbol(c.id)) : -1));
  const seen = new Set<number>();
  return Int32Array.from(tokens, (t, i) => {
    if (t < 0 || seen.has(t)) return vocab.id(idSymbol(i + 1), true);
    seen.add(t);
    return t;
  });
}
