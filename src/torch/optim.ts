/**
 * Optimizers over named parameters. The update rules run natively (native/optim.cc) over the
 * whole parameter list in one call; the state tensors live here so they can be saved with a
 * checkpoint and restored for an exact resume.
 */
import { native } from "./native.js";
import { Tensor } from "./tensor.js";
import { zerosLike } from "./creation.js";
import { keep } from "./scope.js";
import { noGrad } from "./autograd.js";

export type NamedParameters = ReadonlyMap<string, Tensor>;

/** Optimizer state as named tensors plus scalars: what a checkpoint stores. */
export interface OptimizerState {
  step: number;
  tensors: Map<string, Tensor>;
}

export interface AdamWOptions {
  /** Learning rate (changeable per step through `lr`). */
  lr: number;
  /** Moment decay rates; (0.9, 0.999) as in torch.optim.AdamW. */
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay; torch's default 0.01. */
  weightDecay?: number;
}

abstract class Optimizer {
  lr: number;
  step = 0;
  protected readonly names: string[];
  protected readonly params: Tensor[];

  constructor(params: NamedParameters, lr: number) {
    if (!(lr >= 0)) throw new RangeError(`learning rate must be >= 0, got ${lr}`);
    this.lr = lr;
    this.names = [...params.keys()];
    this.params = [...params.values()];
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  abstract update(): void;
  abstract stateDict(): OptimizerState;
  abstract loadStateDict(state: OptimizerState): void;
  abstract dispose(): void;

  protected loadSlot(state: OptimizerState, slot: string, into: Tensor[]): void {
    this.names.forEach((name, i) => {
      const t = state.tensors.get(`${name}.${slot}`);
      if (!t) throw new Error(`optimizer state: missing "${name}.${slot}"`);
      const dst = into[i]!;
      if (t.shape.join() !== dst.shape.join()) throw new Error(`optimizer state: "${name}.${slot}" has shape [${t.shape}], expected [${dst.shape}]`);
      noGrad(() => dst.copy_(t));
    });
  }
}

function stateBuffers(params: Tensor[]): Tensor[] {
  return params.map((p) => keep(noGrad(() => zerosLike(p))));
}

/** AdamW, exactly torch.optim.AdamW's update (non-amsgrad). */
export class AdamW extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  private readonly expAvg: Tensor[];
  private readonly expAvgSq: Tensor[];

  constructor(params: NamedParameters, opts: AdamWOptions) {
    super(params, opts.lr);
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    for (const [name, b] of [["beta1", this.beta1], ["beta2", this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: ${name} must be in [0, 1), got ${b}`);
    }
    this.expAvg = stateBuffers(this.params);
    this.expAvgSq = stateBuffers(this.params);
  }

  /** Applies one update with the current gradients. */
  update(): void {
    this.step += 1;
    native.adamwStep(
      this.params.map((p) => p.handle),
      this.expAvg.map((t) => t.handle),
      this.expAvgSq.map((t) => t.handle),
      this.step, this.lr, this.beta1, this.beta2, this.eps, this.weightDecay,
    );
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    this.names.forEach((n, i) => {
      tensors.set(`${n}.exp_avg`, this.expAvg[i]!);
      tensors.set(`${n}.exp_avg_sq`, this.expAvgSq[i]!);
    });
    return { step: this.step, tensors };
  }

  loadStateDict(state: OptimizerState): void {
    this.loadSlot(state, "exp_avg", this.expAvg);
    this.loadSlot(state, "exp_avg_sq", this.expAvgSq);
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.expAvg, ...this.expAvgSq]) t.dispose();
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** Stochastic gradient descent with optional momentum, as torch.optim.SGD. */
export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  private readonly buffers: Tensor[] | null;

  constructor(params: NamedParameters, opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new RangeError("SGD: nesterov needs momentum > 0 and dampening 0");
    this.buffers = this.momentum !== 0 ? stateBuffers(this.params) : null;
  }

  update(): void {
    this.step += 1;
    native.sgdStep(
      this.params.map((p) => p.handle),
      this.buffers?.map((t) => t.handle),
      this.lr, this.momentum, this.dampening, this.weightDecay, this.nesterov, this.step === 1,
    );
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    if (this.buffers) this.names.forEach((n, i) => tensors.set(`${n}.momentum_buffer`, this.buffers![i]!));
    return { step: this.step, tensors };
  }

  loadStateDict(state: OptimizerState): void {
    if (this.buffers) this.loadSlot(state, "momentum_buffer", this.buffers);
    this.step = state.step;
  }

  dispose(): void {
    for (const t of this.buffers ?? []) t.dispose();
  }
}

/**
 * Scales all gradients so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping; a non-finite norm is returned and nothing is scaled.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  return native.clipGradNorm([...params].map((p) => p.handle), maxNorm);
}

/** The global L2 norm of all gradients. */
export function gradNorm(params: Iterable<Tensor>): number {
  return native.gradNorm([...params].map((p) => p.handle));
}
