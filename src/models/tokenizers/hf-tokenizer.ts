/**
 * Hugging Face `tokenizer.json` through @huggingface/tokenizers, the maintained pure-JS port of
 * the tokenizers library (no native code, no network: it reads the JSON we hand it).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer as HfTokenizerImpl } from "@huggingface/tokenizers";
import { readJsonFile } from "../../util/json-file.js";
import { InputError } from "../../util/errors.js";
import { utf8OrEmpty, type Tokenizer } from "./tokenizer.js";

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  return readJsonFile(file) as Json;
}

/** A token's name in tokenizer_config.json: a string or {content: string}. */
function tokenName(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return null;
}

/** GPT-2's byte-level alphabet: the printable character standing for each byte. */
function byteLevelDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i]!), b]));
}

export class HfTokenizer implements Tokenizer {
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** tokenizer_config.json's pad_token, or null. */
  readonly padId: number | null;
  readonly vocabSize: number;
  private readonly specialIds: Set<number>;
  private strings: string[] | null = null;

  constructor(
    readonly json: Json,
    readonly config: Json = {},
  ) {
    this.impl = new HfTokenizerImpl(json, config);
    // The model's id → token table (added tokens included): its length is the vocabulary size.
    // Neither get_vocab() (builds a 150k-entry Map) nor Math.max(...ids) (overflows the stack).
    const table = this.impl.model?.vocab;
    if (!table || table.length === 0) throw new InputError("tokenizer.json has no vocabulary", { field: "model.vocab" });
    this.vocabSize = table.length;
    const idOf = (name: string | null) => (name === null ? null : (this.impl.token_to_id(name) ?? null));
    this.bosId = idOf(tokenName(config.bos_token));
    this.eosId = idOf(tokenName(config.eos_token));
    this.padId = idOf(tokenName(config.pad_token));
    for (const [field, id] of [["bos_token", this.bosId], ["eos_token", this.eosId], ["pad_token", this.padId]] as const) {
      // A named special token that the vocabulary lacks would silently become "none".
      if (id === null && tokenName(config[field]) !== null) throw new InputError(`${JSON.stringify(tokenName(config[field]))} is not in the vocabulary`, { file: "tokenizer_config.json", field });
    }
    this.specialIds = new Set([...this.impl.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  private readonly impl: HfTokenizerImpl;

  /**
   * Reads tokenizer.json and, when present beside it, tokenizer_config.json (special tokens, chat
   * template) and chat_template.jinja (the chat template as transformers ≥ 4.43 saves it; it wins
   * over the config's copy, as in transformers). `parsed`: tokenizer.json already read by the caller.
   */
  static load(folderOrFile: string, parsed?: Json): HfTokenizer {
    const isFolder = !folderOrFile.endsWith(".json");
    const file = isFolder ? join(folderOrFile, "tokenizer.json") : folderOrFile;
    const dir = isFolder ? folderOrFile : dirname(folderOrFile);
    const configFile = join(dir, "tokenizer_config.json");
    const templateFile = join(dir, "chat_template.jinja");
    const json = parsed ?? readJson(file);
    const config = existsSync(configFile) ? readJson(configFile) : {};
    if (existsSync(templateFile)) config.chat_template = readFileSync(templateFile, "utf8");
    try {
      return new HfTokenizer(json, config);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`unusable tokenizer: ${(e as Error).message}`, { file });
    }
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = this.impl.encode(text, { add_special_tokens: false }).ids;
    if (opts.bos && this.bosId !== null) ids.unshift(this.bosId);
    if (opts.eos && this.eosId !== null) ids.push(this.eosId);
    return ids;
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ""; // the library refuses an empty list
    return this.impl.decode(ids.slice(), { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** The chat template (tokenizer_config.json's chat_template or chat_template.jinja), or null. */
  get chatTemplate(): string | null {
    const t = this.config.chat_template;
    if (typeof t === "string") return t;
    // The older list form: [{name, template}], "default" being the one apply_chat_template uses.
    if (Array.isArray(t)) {
      const named = t.find((e) => (e as { name?: unknown }).name === "default") as { template?: unknown } | undefined;
      return typeof named?.template === "string" ? named.template : null;
    }
    return null;
  }

  /** A token's id (special and added tokens included), or null. */
  tokenId(token: string): number | null {
    return this.impl.token_to_id(token) ?? null;
  }

  /** The added tokens of tokenizer.json (specials such as <|im_start|> and plain ones such as <think>). */
  addedTokens(): { id: number; content: string; special: boolean }[] {
    return [...this.impl.get_added_tokens_decoder()].map(([id, t]) => ({ id, content: t.content, special: t.special }));
  }

  /** Computed once per tokenizer (a 150k vocabulary takes a few hundred ms) and shared: do not modify. */
  tokenStrings(): string[] {
    this.strings ??= this.computeTokenStrings();
    return this.strings;
  }

  private computeTokenStrings(): string[] {
    const model = this.json.model as Json | undefined;
    const decoder = this.json.decoder as Json | undefined;
    const byteLevel = decoder?.type === "ByteLevel";
    const bytes = byteLevel ? byteLevelDecoder() : null;
    const out: string[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      const token = this.impl.id_to_token(id);
      if (token === undefined || this.specialIds.has(id)) {
        out.push("");
        continue;
      }
      if (bytes) {
        // A byte-level token may hold part of a character: "" unless its bytes decode alone.
        const raw = [...token].map((c) => bytes.get(c));
        out.push(raw.every((b) => b !== undefined) ? utf8OrEmpty(Uint8Array.from(raw as number[])) : token);
      } else if (model?.byte_fallback === true && /^<0x[0-9A-F]{2}>$/.test(token)) {
        const b = parseInt(token.slice(3, 5), 16);
        out.push(b < 0x80 ? String.fromCharCode(b) : "");
      } else {
        out.push(token.replaceAll("▁", " "));
      }
    }
    return out;
  }
}
