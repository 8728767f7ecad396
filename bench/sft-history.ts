/**
 * `npm run bench -- sft-history [--steps=N]`: the cost of sft.history_loss_weight. One SFT
 * forward + backward of the demo model (configs/demo.json, bundled Games, batch 32) without and
 * with the history next-item loss, alternated in one process so machine load hits both alike.
 * Prints one JSON line per setting (median ms) and the ratio.
 */
import * as T from "../src/torch/index.js";
import { historyLossOf, sftLoss, type HistoryLoss } from "../src/fgrpo/trainer/sft.js";
import { demoSftSetup, stepsArg } from "./lib/demo-sft-setup.js";

export function run(args: string[]): void {
  const steps = stepsArg(args);
  const { config, task, policy, batches } = demoSftSetup(steps);
  const history = historyLossOf({ ...config, sft: { ...config.sft, history_loss_weight: 1 } }, task.policyCodec);
  const step = (i: number, h: HistoryLoss | null) => {
    const t0 = performance.now();
    T.tidy(() => {
      const { loss } = sftLoss(policy.model, batches[i]!, task.policyCodec.padId, true, true, 0, h);
      loss.backward();
      loss.item();
    });
    policy.model.params.forEach((p) => (p.grad = null));
    return performance.now() - t0;
  };
  step(0, null); // warm-up
  step(1, history);
  const off: number[] = [], on: number[] = [];
  for (let i = 2; i < steps + 2; i++) {
    off.push(step(i, null));
    on.push(step(i, history));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [a, b] = [median(off), median(on)];
  console.log(JSON.stringify({ bench: "sft-history", history_loss: false, ms_per_step: round(a) }));
  console.log(JSON.stringify({ bench: "sft-history", history_loss: true, ms_per_step: round(b) }));
  console.log(JSON.stringify({ bench: "sft-history", ratio: round(b / a), steps, batch: config.sft.batch_size }));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
