/** Gradient mode and gradients of chosen outputs with respect to chosen inputs. */
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

/** Runs fn with gradient recording off (like `with torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Gradients of `outputs` (weighted by `gradOutputs`, default ones for scalars) with respect to
 * `inputs`, without touching `.grad` (like torch.autograd.grad). Unused inputs give null when
 * `allowUnused`, otherwise an error.
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor[],
  opts: { gradOutputs?: Tensor[]; retainGraph?: boolean; createGraph?: boolean; allowUnused?: boolean } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const r = native.autogradGrad(
    outs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    opts.gradOutputs?.map((t) => t.handle),
    opts.retainGraph ?? false,
    opts.createGraph ?? false,
    opts.allowUnused ?? false,
  );
  return r.map((g) => (g === null ? null : new Tensor(g)));
}
