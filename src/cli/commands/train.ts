import type { Command } from "../main.js";
import { parseCommand, type CommandSpec } from "../args.js";
import { applyOverrides, isTextPolicyFolder, parseConfig, readConfigFile, resolveDefaults } from "../../fgrpo/trainer/config.js";
import { runTraining } from "../../fgrpo/trainer/run.js";
import { DataParallel } from "../../fgrpo/trainer/dist.js";
import { availableBackends, CollectiveError, ProcessGroup, type Backend } from "../../torch/distributed.js";
import { InputError } from "../../util/errors.js";
import { launch, workerEnv } from "../launch.js";

const spec: CommandSpec = {
  name: "train",
  summary: "SFT warm start then RL (F-GRPO by default) from a JSON config; resumes from the output_dir's last checkpoint",
  usage: "fgrpo train --config FILE [--set key=value …] [--quiet] [--print-config] [--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]]",
  options: {
    config: { type: "string", valueName: "FILE", description: "JSON config (see the config reference in README.md); omit for all defaults" },
    set: { type: "string", multiple: true, valueName: "KEY=VALUE", description: "override a field, e.g. --set rl.method=grpo --set rl.max_steps=50" },
    quiet: { type: "boolean", description: "no progress bars" },
    "print-config": { type: "boolean", description: "print the config this run uses as JSON and exit: defaults filled in, and fields left null to be chosen (pool order, dropout, clip range, …) shown as the values chosen" },
    "nproc-per-node": { type: "string", valueName: "N", description: "data parallel: start N workers on this node, as torchrun (see docs/distributed.md)" },
    nnodes: { type: "string", valueName: "M", description: "data parallel: number of nodes (default 1)" },
    "node-rank": { type: "string", valueName: "R", description: "data parallel: this node's index, 0 … M−1 (default 0)" },
    "master-addr": { type: "string", valueName: "ADDR", description: "data parallel: address of node 0 (default 127.0.0.1)" },
    "master-port": { type: "string", valueName: "PORT", description: "data parallel: port of the rendezvous store on node 0 (default 29500)" },
    "dist-timeout": { type: "string", valueName: "SECONDS", description: "data parallel: a rank that does not reach a collective within this time fails the run (default 300; env FGRPO_DIST_TIMEOUT)" },
    "dist-backend": { type: "string", valueName: "NAME", description: "data parallel: gloo (CPU, default) or nccl (CUDA)" },
    "bucket-cap-mb": { type: "string", valueName: "MB", description: "data parallel: gradient bucket cap, all-reduced during the backward as each fills (default 25, DDP's; env FGRPO_DIST_BUCKET_MB)" },
  },
};

const train: Command = {
  summary: spec.summary,
  async run(argv) {
    const parsed = parseCommand(spec, argv);
    if (parsed === null) return 0;
    const file = parsed.values.config as string | undefined;
    const raw = file ? readConfigFile(file) : {};
    const config = parseConfig(applyOverrides(raw, (parsed.values.set as string[] | undefined) ?? []), file ?? "<defaults>");
    if (parsed.values["print-config"]) {
      const text = config.model.checkpoint !== null && isTextPolicyFolder(config.model.checkpoint);
      console.log(JSON.stringify(resolveDefaults(config, !text), null, 2));
      return 0;
    }
    const v = parsed.values as Record<string, string | undefined>;
    const timeoutS = numberFlag(v["dist-timeout"] ?? process.env.FGRPO_DIST_TIMEOUT, 300, "--dist-timeout");
    // Checked before the launcher starts workers, so a bad value is one line, not one per rank.
    const bucketMb = numberFlag(v["bucket-cap-mb"] ?? process.env.FGRPO_DIST_BUCKET_MB, 25, "--bucket-cap-mb");
    checkBackend(v["dist-backend"] ?? "gloo");
    if (v["nproc-per-node"] !== undefined) {
      // The launcher: the same command without the launcher's flags, once per local rank.
      const launcherFlags = new Set(["--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port"]);
      const rest: string[] = [];
      for (let i = 0; i < argv.length; i++) {
        const [flag] = argv[i]!.split("=");
        if (launcherFlags.has(flag!)) i += argv[i]!.includes("=") ? 0 : 1;
        else rest.push(argv[i]!);
      }
      return launch(
        {
          nprocPerNode: numberFlag(v["nproc-per-node"], 1, "--nproc-per-node"),
          nnodes: numberFlag(v.nnodes, 1, "--nnodes"),
          nodeRank: numberFlag(v["node-rank"], 0, "--node-rank"),
          masterAddr: v["master-addr"] ?? "127.0.0.1",
          masterPort: numberFlag(v["master-port"], 29500, "--master-port"),
          graceMs: (timeoutS + 30) * 1000,
        },
        [process.argv[1]!, "train", ...rest, "--dist-timeout", String(timeoutS)],
      );
    }
    const worker = workerEnv();
    if (worker !== null && worker.worldSize > 1) return trainWorker(config, worker, timeoutS, (v["dist-backend"] ?? "gloo") as Backend, Boolean(parsed.values.quiet), Math.round(bucketMb * 2 ** 20));
    const r = runTraining(config, { quiet: Boolean(parsed.values.quiet) });
    const show = (name: string, m: Record<string, number> | undefined) =>
      m && console.log(`${name}: ndcg@5 ${m["ndcg@5"]!.toFixed(4)}  recall@5 ${m["recall@5"]!.toFixed(4)}  hit@1 ${m["hit@1"]!.toFixed(4)}  slate_recall ${m.slate_recall!.toFixed(4)}`);
    show("after SFT", r.sft?.means);
    show(`after RL (${config.rl.method})`, r.rl?.means);
    console.log(`model: ${r.finalModel}\nrun: ${r.outputDir}`);
    return 0;
  },
};
function numberFlag(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0 && flag !== "--node-rank") throw new InputError(`expected a positive number, got "${raw}"`, { field: flag });
  return n;
}

/**
 * The trainer keeps its tensors on the CPU, which Gloo reduces; NCCL reduces CUDA tensors only.
 * Refused before any worker starts, with why (the addon lacks NCCL, or the trainer is CPU-only).
 */
function checkBackend(backend: string): asserts backend is Backend {
  if (backend === "gloo") return;
  if (backend !== "nccl") throw new InputError(`unknown backend "${backend}" (gloo or nccl)`, { field: "--dist-backend" });
  const why = availableBackends().includes("nccl")
    ? "the trainer keeps its tensors on the CPU and NCCL reduces CUDA tensors only"
    : "this addon was built without NCCL (it needs a libtorch with CUDA and NCCL, built with FGRPO_CUDA)";
  throw new InputError(`nccl is not available for fgrpo train: ${why}; use --dist-backend gloo (docs/distributed.md)`, { field: "--dist-backend" });
}

/** One data-parallel worker: joins the group, trains its share; a failed peer ends it with one line naming the rank. */
function trainWorker(config: ReturnType<typeof parseConfig>, w: NonNullable<ReturnType<typeof workerEnv>>, timeoutS: number, backend: Backend, quiet: boolean, bucketCapBytes: number): number {
  let group: ProcessGroup;
  try {
    group = ProcessGroup.init({ masterAddr: w.masterAddr, masterPort: w.masterPort, rank: w.rank, worldSize: w.worldSize, timeoutMs: Math.round(timeoutS * 1000), backend });
  } catch (e) {
    console.error(`fgrpo train (rank ${w.rank}/${w.worldSize}): ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
  try {
    const r = runTraining(config, { quiet, dataParallel: new DataParallel(group, { bucketCapBytes }) });
    group.barrier();
    group.destroy();
    if (w.rank === 0) console.log(`model: ${r.finalModel}\nrun: ${r.outputDir}`);
    return 0;
  } catch (e) {
    if (e instanceof CollectiveError) {
      // The group is left as it is (not destroyed): joining its threads could wait for the timeout.
      console.error(`fgrpo train (rank ${w.rank}/${w.worldSize}): ${e.message}; the last complete checkpoint is kept, and rerunning the command resumes from it`);
      process.exit(1);
    }
    throw e;
  }
}

export default train;
