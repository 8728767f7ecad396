/**
 * Compares autograd's gradients with central finite differences, like torch.autograd.gradcheck.
 * Use float64 inputs: with h = 1e-6 the difference quotient is accurate to about 1e-9.
 */
import { Tensor } from "./tensor.js";
import { tensor } from "./creation.js";
import { grad, noGrad } from "./autograd.js";
import { tidy } from "./scope.js";

export interface GradcheckResult {
  /** max over elements of |analytic − numeric| / max(1, |numeric|) */
  maxError: number;
  /** which input and element had it */
  worst: { input: number; index: number; analytic: number; numeric: number };
}

/**
 * fn maps the inputs to any tensor; its elements are summed against fixed random weights so
 * every output element contributes. Inputs must be float64 leaves; they are not modified.
 */
export function gradcheck(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; seed?: number } = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  return tidy(() => {
    for (const x of inputs) if (x.dtype !== "float64") throw new TypeError(`gradcheck: inputs must be float64, got ${x.dtype}`);
    const leaves = inputs.map((x) => x.detach().requiresGrad_());
    const out0 = fn(leaves);
    // Fixed pseudo-random weights (not all ones) so that errors cannot cancel by symmetry.
    const n = out0.numel;
    const weights = tensor(Float64Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919 + (opts.seed ?? 1) * 104729) % 1000) / 1000), { shape: out0.shape });
    const scalar = (out: Tensor) => out.mul(weights).sum();
    const analytic = grad(scalar(out0), leaves, { allowUnused: true }).map((g, i) => (g === null ? new Float64Array(inputs[i]!.numel) : g.toFloat64Array()));
    let worst = { input: 0, index: 0, analytic: 0, numeric: 0 };
    let maxError = 0;
    const values = inputs.map((x) => x.toFloat64Array());
    noGrad(() => {
      for (let i = 0; i < inputs.length; i++) {
        const shape = inputs[i]!.shape;
        for (let k = 0; k < values[i]!.length; k++) {
          const evalAt = (delta: number) =>
            tidy(() => {
              const perturbed = values.map((v, j) => {
                if (j !== i) return tensor(v, { shape: inputs[j]!.shape });
                const c = Float64Array.from(v);
                c[k]! += delta;
                return tensor(c, { shape });
              });
              return scalar(fn(perturbed)).item();
            });
          const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
          const a = analytic[i]![k]!;
          const err = Math.abs(a - numeric) / Math.max(1, Math.abs(numeric));
          if (err > maxError || Number.isNaN(err)) {
            maxError = Number.isNaN(err) ? Infinity : err;
            worst = { input: i, index: k, analytic: a, numeric };
          }
        }
      }
    });
    return { maxError, worst };
  });
}
