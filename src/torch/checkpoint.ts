/**
 * Activation checkpointing (native/checkpoint.cc): `checkpoint(fn, inputs)` runs fn without
 * recording a graph and records one node instead, whose backward runs fn again with the graph
 * recorded and back-propagates through it (PyTorch's reentrant torch.utils.checkpoint). Between
 * forward and backward only the inputs are kept, so memory for a checkpointed decoder layer is
 * its input instead of all its intermediates, for the price of a second forward.
 *
 * fn must be a function of its inputs and of tensors that outlive the backward (parameters),
 * with the same random draws in both runs (the CPU generator's state is replayed for it). The
 * parameters it uses receive their gradients by accumulation into `.grad`, as in
 * `loss.backward()`; `T.grad(outputs, params)` does not see through a checkpoint. CPU only
 * (libtorch differentiates CUDA tensors on threads that cannot call JavaScript).
 */
import { native, type Handle } from "./native.js";
import { tidy } from "./scope.js";
import { Tensor } from "./tensor.js";

export function checkpoint(fn: (inputs: Tensor[]) => Tensor[], inputs: Tensor[]): Tensor[] {
  // Each run frees its intermediates; the outputs' handles are taken over (and freed) natively.
  const run = (handles: Handle[]): Handle[] => tidy(() => fn(handles.map((h) => new Tensor(h)))).map((t) => t.handle);
  return native.checkpoint(run, inputs.map((t) => t.handle)).map((h) => new Tensor(h));
}
