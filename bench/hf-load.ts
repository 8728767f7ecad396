/**
 * `npm run bench -- hf-load [--layers=28] [--dtype=float32|bfloat16]`: writes a random checkpoint
 * with Qwen3-0.6B's shapes (vocab 151,936, d 1024, 16 q / 8 kv heads of 128, SwiGLU 3072, tied
 * head; 28 layers unless --layers) as BF16 shards of ≤ 512 MB in a temporary folder, then times
 * loadHfModel on it in a fresh process (so the peak RSS is the load's, not the writer's). The
 * folder is deleted afterwards.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import * as T from "../src/torch/index.js";
import { LlamaModel, loadHfModel, presets, saveHfCheckpoint } from "../src/models/index.js";

/**
 * This process's peak RSS in MB: /proc's VmHWM, which starts afresh at exec. (getrusage's maxrss,
 * process.resourceUsage().maxRSS, is inherited from the parent on Linux: it reported the writer's peak.)
 */
function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Loads `dir` and prints one JSON line (run in its own process by run()). */
function loadOnly(dir: string, dtype: "float32" | "bfloat16"): void {
  const files = readdirSync(dir).filter((f) => f.endsWith(".safetensors"));
  const bytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const model = loadHfModel(dir, undefined, { dtype });
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  const r = (x: number) => Math.round(x);
  console.log(JSON.stringify({
    stored: "bfloat16", dtype, shards: files.length, file_mb: r(bytes / 2 ** 20), load_ms: r(ms), load_cpu_ms: r((c.user + c.system) / 1000),
    mb_per_s: r(bytes / 2 ** 20 / (ms / 1000)), rss_before_mb: r(rssBefore / 2 ** 20), peak_rss_mb: r(peakRssMb()),
    loadavg_1m: Math.round(loadavg()[0]! * 10) / 10,
  }));
  model.dispose();
}

export function run(args: string[]): void {
  const loadDir = args.find((a) => a.startsWith("--load-only="))?.slice(12);
  const layers = Number(args.find((a) => a.startsWith("--layers="))?.slice(9) ?? 28);
  const dtype = (args.find((a) => a.startsWith("--dtype="))?.slice(8) ?? "float32") as "float32" | "bfloat16";
  if (loadDir !== undefined) return loadOnly(loadDir, dtype);
  const dir = mkdtempSync(join(tmpdir(), "fgrpo-hf-load-"));
  try {
    const config = presets.tiny(151936, {
      modelType: "qwen3", qkNorm: true, hiddenSize: 1024, intermediateSize: 3072, numLayers: layers, numHeads: 16, numKvHeads: 8, headDim: 128,
      ropeTheta: 1e6, maxPositionEmbeddings: 40960, tieWordEmbeddings: true, bosTokenId: 151643, eosTokenIds: [151645], padTokenId: null,
    });
    T.manualSeed(0);
    const model = LlamaModel.init(config);
    const params = [...model.params.values()].reduce((n, t) => n + t.numel, 0);
    saveHfCheckpoint(dir, model, null, { dtype: "bfloat16", maxShardBytes: 512 * 2 ** 20 });
    model.dispose();
    const child = spawnSync(process.execPath, [join(fileURLToPath(import.meta.url), "..", "..", "..", "scripts", "bench.mjs"), "hf-load", `--load-only=${dir}`, `--dtype=${dtype}`], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(`load process failed: ${child.stderr}`);
    const line = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    console.log(JSON.stringify({ bench: "hf-load", shapes: "Qwen3-0.6B", layers, params, ...line }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
