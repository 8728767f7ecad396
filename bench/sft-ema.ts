/**
 * `npm run bench -- sft-ema [--steps=N]`: the cost of sft.ema_decay. One SFT step of the demo
 * model (configs/demo.json, bundled Games, batch 32: forward, backward, AdamW update) without
 * and with the EMA update after it, alternated in one process so machine load hits both alike;
 * plus the EMA update alone and the swap around a validation (average in, trained weights back).
 * Prints one JSON line per measurement (median ms) and the step ratio.
 */
import * as T from "../src/torch/index.js";
import { historyLossOf, sftLoss } from "../src/fgrpo/trainer/sft.js";
import { ParameterEma } from "../src/fgrpo/trainer/ema.js";
import { sftDropoutOf } from "../src/fgrpo/trainer/config.js";
import { demoSftSetup, stepsArg } from "./lib/demo-sft-setup.js";

export function run(args: string[]): void {
  const steps = stepsArg(args);
  const { config, task, policy, batches } = demoSftSetup(steps);
  const params = policy.model.trainableParameters();
  const optimizer = new T.AdamW(params, { lr: 1e-4 });
  const ema = new ParameterEma(0.995, params);
  const history = historyLossOf(config, task.policyCodec);
  const step = (i: number, averaged: boolean) => {
    const t0 = performance.now();
    T.tidy(() => {
      const { loss } = sftLoss(policy.model, batches[i]!, task.policyCodec.padId, true, true, sftDropoutOf(config, true), history);
      loss.backward();
      loss.item();
    });
    optimizer.update();
    optimizer.zeroGrad();
    if (averaged) ema.update();
    return performance.now() - t0;
  };
  const timed = (f: () => void) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  step(0, false); // warm-up
  step(1, true);
  const off: number[] = [], on: number[] = [], update: number[] = [], swap: number[] = [];
  for (let i = 2; i < steps + 2; i++) {
    off.push(step(i, false));
    on.push(step(i, true));
    update.push(timed(() => ema.update()));
    swap.push(timed(() => ema.withAveraged(() => undefined)));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [a, b] = [median(off), median(on)];
  const n = [...params.values()].reduce((s, p) => s + p.numel, 0);
  console.log(JSON.stringify({ bench: "sft-ema", ema: false, ms_per_step: round(a) }));
  console.log(JSON.stringify({ bench: "sft-ema", ema: true, ms_per_step: round(b) }));
  console.log(JSON.stringify({ bench: "sft-ema", ms_ema_update: round(median(update)), ms_validation_swap: round(median(swap)), parameters: n }));
  console.log(JSON.stringify({ bench: "sft-ema", ratio: round(b / a), steps, batch: config.sft.batch_size }));
  ema.dispose();
  optimizer.dispose();
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
