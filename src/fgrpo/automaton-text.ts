/**
 * Constrained decoding for text models. A character-level automaton accepts exactly the
 * canonical text of valid rollouts,
 *
 *     <SLATE> [4] [11] </SLATE> <RANK> [11] > [4] </RANK>   then an EOS token,
 *
 * and a token is allowed when its whole string walks through that automaton. Walking a trie of
 * the token strings visits only tokens consistent with the layout, so multi-character tokens
 * such as "] [" or "[1" are allowed exactly when some valid continuation starts with them
 * ("[1" with N = 20 while [1] or one of [10]–[19] is still usable).
 *
 * The character automaton only takes steps that keep a valid completion reachable (a digit is
 * allowed only when some usable id starts with the digits typed so far), and the constructor
 * checks that every character of the layout exists as a one-character token, so from every
 * state the model can always finish: no dead ends.
 *
 * Real vocabularies (Qwen's 151k byte-level BPE tokens) are handled by building the trie once
 * per tokenizer from the few hundred tokens spelled only with layout characters (see
 * `layoutTrie`); each step then walks only the trie paths its state allows, so its cost does
 * not depend on the vocabulary size.
 */
import type { TokenConstraint } from "../generation/constraint.js";
import { validateLayout, type RolloutLayout } from "./layout.js";
import type { TextTokenizer } from "./grammar-text.js";

type Node =
  | "open" | "slate_digits" | "slate_after_id" | "slate_space" | "mid"
  | "rank_digits" | "rank_after_id" | "rank_space" | "sep" | "close" | "await_eos" | "done";

/** Fixed text of the literal nodes, and the node that follows each. */
const LITERALS: Partial<Record<Node, { text: string; next: Node }>> = {
  open: { text: "<SLATE> [", next: "slate_digits" },
  mid: { text: "/SLATE> <RANK> [", next: "rank_digits" },
  sep: { text: " [", next: "rank_digits" },
  close: { text: "/RANK>", next: "await_eos" },
};

const DIGITS_OR_CLOSE = [..."0123456789]"];

export interface TextRolloutState {
  readonly node: Node;
  /** Characters of the current literal already written. */
  readonly lit: number;
  /** Digits of the id being written. */
  readonly digits: string;
  readonly slate: readonly number[];
  readonly ranking: readonly number[];
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Token ids whose string ends here. */
  ids: number[];
}

/** The layout's alphabet: a token with any other character can never be allowed. */
const ALPHABET: ReadonlySet<string> = new Set("<SLATE>[]</RANK> 0123456789");

/** The trie of a tokenizer's layout-alphabet tokens, and its one-character tokens. */
interface LayoutTrie {
  root: TrieNode;
  singles: Set<string>;
  /** Tokens in the trie (for reports and tests). */
  tokens: number;
}

/** One trie per pieces array: built once per tokenizer, shared by every pool size and layout. */
const TRIES = new WeakMap<readonly string[], Map<string, LayoutTrie>>();

/**
 * The trie over the tokens whose strings use only layout characters (EOS ids excluded), cached
 * per tokenizer: one pass over the vocabulary, the only step whose cost grows with it.
 */
export function layoutTrie(tokenizer: TextTokenizer): LayoutTrie {
  const eosKey = [...tokenizer.eosIds].sort((a, b) => a - b).join(",");
  let byEos = TRIES.get(tokenizer.pieces);
  if (byEos === undefined) TRIES.set(tokenizer.pieces, (byEos = new Map()));
  const cached = byEos.get(eosKey);
  if (cached !== undefined) return cached;
  const eos = new Set(tokenizer.eosIds);
  const trie: LayoutTrie = { root: { children: new Map(), ids: [] }, singles: new Set(), tokens: 0 };
  tokenizer.pieces.forEach((piece, id) => {
    if (piece === undefined || piece === "" || eos.has(id)) return;
    for (const ch of piece) if (!ALPHABET.has(ch)) return;
    let node = trie.root;
    for (const ch of piece) {
      let child = node.children.get(ch);
      if (child === undefined) node.children.set(ch, (child = { children: new Map(), ids: [] }));
      node = child;
    }
    node.ids.push(id);
    trie.tokens += 1;
    if (piece.length === 1) trie.singles.add(piece);
  });
  byEos.set(eosKey, trie);
  return trie;
}

/** Allowed sets cached before the cache is cleared: bounds memory on long runs with big vocabularies [ours]. */
const CACHE_LIMIT = 10_000;

export class TextRolloutConstraint implements TokenConstraint<TextRolloutState> {
  private readonly trie: TrieNode;
  private readonly eosIds: Int32Array;
  /** Digit prefix → the pool positions whose decimal form starts with it. */
  private readonly idsByPrefix = new Map<string, number[]>();
  private readonly cache = new Map<string, Int32Array>();

  constructor(
    readonly tokenizer: TextTokenizer,
    readonly layout: RolloutLayout,
  ) {
    validateLayout(layout);
    if (tokenizer.eosIds.length === 0) throw new RangeError("the tokenizer needs at least one EOS id");
    this.eosIds = Int32Array.from([...new Set(tokenizer.eosIds)].sort((a, b) => a - b));
    for (let p = 1; p <= layout.poolSize; p++) {
      const s = String(p);
      for (let len = 1; len <= s.length; len++) {
        const prefix = s.slice(0, len);
        const list = this.idsByPrefix.get(prefix) ?? [];
        list.push(p);
        this.idsByPrefix.set(prefix, list);
      }
    }
    const trie = layoutTrie(tokenizer);
    this.trie = trie.root;
    const singles = trie.singles;
    const needed = new Set("<SLATE>[] </RANK>" + Array.from({ length: layout.poolSize }, (_, i) => i + 1).join(""));
    const missing = [...needed].filter((ch) => !singles.has(ch));
    if (missing.length > 0) {
      throw new RangeError(`the tokenizer has no single-character token for ${missing.map((c) => JSON.stringify(c)).join(", ")}; constrained decoding needs one per layout character`);
    }
  }

  initial(): TextRolloutState {
    return { node: "open", lit: 0, digits: "", slate: [], ranking: [] };
  }

  isComplete(state: TextRolloutState): boolean {
    return state.node === "done";
  }

  /** Allowed token ids, ascending. The array may be shared between calls: do not modify it. */
  allowedTokens(state: TextRolloutState): Int32Array {
    if (state.node === "done") return new Int32Array(0);
    if (state.node === "await_eos") return this.eosIds;
    const key = stateKey(state);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const out: number[] = [];
    this.collect(this.trie, state, out);
    const allowed = Int32Array.from(out).sort();
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, allowed);
    return allowed;
  }

  advance(state: TextRolloutState, token: number): TextRolloutState {
    if (this.eosIds.includes(token)) {
      if (state.node !== "await_eos") throw new RangeError(`EOS token ${token} is not allowed before </RANK>`);
      return { ...state, node: "done" };
    }
    const piece = this.tokenizer.pieces[token];
    let next: TextRolloutState | null = piece === undefined || piece === "" || state.node === "done" ? null : state;
    for (const ch of piece ?? "") {
      if (next === null) break;
      next = this.step(next, ch);
    }
    if (next === null) throw new RangeError(`token ${token} (${JSON.stringify(piece)}) is not allowed here`);
    return next;
  }

  /** A readable summary of a state (node, digits typed, ids used), for debugging masks. */
  describe(state: TextRolloutState): string {
    return `${state.node}${state.digits ? ` digits=${state.digits}` : ""} slate=[${state.slate.join(",")}] ranking=[${state.ranking.join(",")}]`;
  }

  private collect(node: TrieNode, state: TextRolloutState, out: number[]): void {
    for (const ch of candidateChars(state)) {
      const child = node.children.get(ch);
      if (child === undefined) continue;
      const next = this.step(state, ch);
      if (next === null) continue;
      out.push(...child.ids);
      if (child.children.size > 0) this.collect(child, next, out);
    }
  }

  /** One character through the automaton; null when it cannot begin or continue a valid rollout. */
  private step(s: TextRolloutState, ch: string): TextRolloutState | null {
    const literal = LITERALS[s.node];
    if (literal !== undefined) {
      if (literal.text[s.lit] !== ch) return null;
      return s.lit + 1 === literal.text.length ? { ...s, node: literal.next, lit: 0, digits: "" } : { ...s, lit: s.lit + 1 };
    }
    const { nMax, kMax, poolSize } = this.layout;
    switch (s.node) {
      case "slate_digits":
      case "rank_digits": {
        const inRank = s.node === "rank_digits";
        const usable = (p: number): boolean => (inRank ? s.slate.includes(p) && !s.ranking.includes(p) : !s.slate.includes(p));
        if (ch === "]") {
          const id = s.digits === "" ? 0 : Number(s.digits);
          if (!(id >= 1 && id <= poolSize) || !usable(id)) return null;
          return inRank
            ? { ...s, node: "rank_after_id", digits: "", ranking: [...s.ranking, id] }
            : { ...s, node: "slate_after_id", digits: "", slate: [...s.slate, id] };
        }
        const ids = this.idsByPrefix.get(s.digits + ch);
        return ids !== undefined && ids.some(usable) ? { ...s, digits: s.digits + ch } : null;
      }
      case "slate_after_id":
        return ch === " " ? { ...s, node: "slate_space" } : null;
      case "slate_space":
        if (ch === "[" && s.slate.length < Math.min(nMax, poolSize)) return { ...s, node: "slate_digits" };
        return ch === "<" ? { ...s, node: "mid", lit: 0 } : null;
      case "rank_after_id":
        return ch === " " ? { ...s, node: "rank_space" } : null;
      case "rank_space":
        if (ch === ">" && s.ranking.length < Math.min(kMax, s.slate.length)) return { ...s, node: "sep", lit: 0 };
        return ch === "<" ? { ...s, node: "close", lit: 0 } : null;
      default:
        return null;
    }
  }
}

function candidateChars(s: TextRolloutState): readonly string[] {
  const literal = LITERALS[s.node];
  if (literal !== undefined) return [literal.text[s.lit]!];
  switch (s.node) {
    case "slate_digits":
    case "rank_digits":
      return DIGITS_OR_CLOSE;
    case "slate_after_id":
    case "rank_after_id":
      return [" "];
    case "slate_space":
      return ["[", "<"];
    case "rank_space":
      return [">", "<"];
    default:
      return [];
  }
}

/** Allowed sets depend on the node, literal offset, digits, and the *sets* of used ids. */
function stateKey(s: TextRolloutState): string {
  const sorted = (xs: readonly number[]): string => [...xs].sort((a, b) => a - b).join(",");
  return `${s.node}:${s.lit}:${s.digits}:${sorted(s.slate)}:${sorted(s.ranking)}`;
}
