/**
 * Hugging Face `tokenizer.json` through @huggingface/tokenizers, the maintained pure-JS port of
 * the tokenizers library (no native code, no network: it reads the JSON we hand it).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
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
  readonly vocabSize: number;
  private readonly specialIds: Set<number>;

  constructor(
    readonly json: Json,
    readonly config: Json = {},
  ) {
    this.impl = new HfTokenizerImpl(json, config);
    const vocab = this.impl.get_vocab(true);
    // A loop, not Math.max(...ids): spreading a 150k-entry vocabulary overflows the call stack.
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const idOf = (name: string | null) => (name === null ? null : (this.impl.token_to_id(name) ?? null));
    this.bosId = idOf(tokenName(config.bos_token));
    this.eosId = idOf(tokenName(config.eos_token));
    this.specialIds = new Set([...this.impl.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  private readonly impl: HfTokenizerImpl;

  /** Reads tokenizer.json and, when present beside it, tokenizer_config.json. */
  static load(folderOrFile: string): HfTokenizer {
    const isFolder = !folderOrFile.endsWith(".json");
    const file = isFolder ? join(folderOrFile, "tokenizer.json") : folderOrFile;
    const configFile = join(isFolder ? folderOrFile : join(folderOrFile, ".."), "tokenizer_config.json");
    const json = readJson(file);
    const config = existsSync(configFile) ? readJson(configFile) : {};
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
    return this.impl.decode(ids.slice(), { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  tokenStrings(): string[] {
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
