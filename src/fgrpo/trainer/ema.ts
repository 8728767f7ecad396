/**
 * Weight averaging (`sft.ema_decay`): an exponential moving average of the parameters, updated
 * after every optimizer step and used in place of the trained weights for validation, the best
 * checkpoint and the phase's result (timm's ModelEmaV2; TF's ExponentialMovingAverage). The
 * trained weights keep training; the average only smooths what is evaluated, which damps the
 * step-to-step swing of a single validation score.
 *
 *   shadow ← d · shadow + (1 − d) · θ,   d = min(decay, (1 + n) / (10 + n))
 *
 * where n counts the updates before this one. The warm-up (TF's `num_updates` rule) keeps the
 * random initial weights from lingering in the average: at decay 0.998 they would still weigh
 * 0.998^500 ≈ 0.37 after 500 steps; with the warm-up the early updates average over the steps
 * taken so far.
 */
import * as T from "../../torch/index.js";

export interface EmaState {
  updates: number;
  tensors: Map<string, T.Tensor>;
}

export class ParameterEma {
  /** Optimizer updates folded into the average so far. */
  updates = 0;
  private readonly shadow: Map<string, T.Tensor>;

  constructor(readonly decay: number, private readonly params: ReadonlyMap<string, T.Tensor>) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    this.shadow = new Map([...params].map(([name, p]) => [name, T.keep(T.noGrad(() => p.detach().clone()))]));
  }

  /** The decay the next update uses (with the warm-up above). */
  decayAt(updates: number): number {
    return Math.min(this.decay, (1 + updates) / (10 + updates));
  }

  /** Folds the current parameters into the average: call after each optimizer step. */
  update(): void {
    const d = this.decayAt(this.updates);
    T.noGrad(() => {
      for (const [name, p] of this.params) this.shadow.get(name)!.mul_(d).add_(p.detach(), 1 - d);
    });
    this.updates += 1;
  }

  /** Runs `f` with the averaged weights in the parameters, then puts the trained weights back. */
  withAveraged<R>(f: () => R): R {
    const trained = new Map([...this.params].map(([name, p]) => [name, T.keep(T.noGrad(() => p.detach().clone()))]));
    try {
      this.copyInto(this.shadow);
      return f();
    } finally {
      this.copyInto(trained);
      for (const t of trained.values()) t.dispose();
    }
  }

  /** Replaces the trained weights by the average for good (the end of a phase). */
  apply(): void {
    this.copyInto(this.shadow);
  }

  /** The average and its update count, for a checkpoint (the tensors stay owned by this object). */
  stateDict(): EmaState {
    return { updates: this.updates, tensors: this.shadow };
  }

  /** Restores a checkpoint's average; the tensors of `state` are only read. */
  loadStateDict(state: EmaState): void {
    for (const [name, dst] of this.shadow) {
      const t = state.tensors.get(name);
      if (!t) throw new Error(`EMA state: missing "${name}"`);
      if (t.shape.join() !== dst.shape.join()) throw new Error(`EMA state: "${name}" has shape [${t.shape}], expected [${dst.shape}]`);
      T.noGrad(() => dst.copy_(t));
    }
    this.updates = state.updates;
  }

  dispose(): void {
    for (const t of this.shadow.values()) t.dispose();
  }

  private copyInto(from: ReadonlyMap<string, T.Tensor>): void {
    T.noGrad(() => {
      for (const [name, p] of this.params) p.copy_(from.get(name)!);
    });
  }
}
