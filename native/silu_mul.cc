// SwiGLU's product silu(gate)·up as one autograd node over fused float32 loops (kernels.cc).
// libtorch 1.13's CPU silu, like its tanh, is slow (measured: 2.3 ms per million floats, 15×
// a multiply), and the composed form also runs a multiply and keeps silu(gate) for the backward.
// Other dtypes and devices, and inputs of different shapes, keep the composition.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace fgrpo {

namespace {

// t as a [rows, last] matrix whose rows may be spaced apart (a view when its layout allows, so
// the halves of a packed projection are read in place), else a contiguous copy.
at::Tensor Rows(const at::Tensor& t) {
  at::Tensor m = t.dim() == 0 ? t.view({1, 1}) : t.reshape({-1, t.size(-1)});
  return m.stride(1) == 1 ? m : m.contiguous();
}

at::Tensor Forward(const at::Tensor& gate, const at::Tensor& up) {
  at::Tensor g = Rows(gate), u = Rows(up);
  at::Tensor y = at::empty(g.sizes(), g.options());
  kernels::SiluMulForward(g.data_ptr<float>(), g.stride(0), u.data_ptr<float>(), u.stride(0), y.data_ptr<float>(), g.size(0), g.size(1));
  return y.view(gate.sizes());
}

// Its backward is not differentiable: a double backward through it is not supported.
class SiluMulFunction : public torch::autograd::Function<SiluMulFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    at::Tensor g = gate.contiguous(), u = up.contiguous();  // the backward's loop reads them flat
    ctx->save_for_backward({g, u});
    return Forward(g, u);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor dy = grads[0].contiguous();
    at::Tensor dg = at::empty_like(saved[0]), du = at::empty_like(saved[1]);
    kernels::SiluMulBackward(saved[0].data_ptr<float>(), saved[1].data_ptr<float>(), dy.data_ptr<float>(), dg.data_ptr<float>(),
                             du.data_ptr<float>(), dy.numel());
    return {dg, du};
  }
};

}  // namespace

at::Tensor SiluMul(const at::Tensor& gate, const at::Tensor& up) {
  bool fused = kernels::Enabled() && gate.device().is_cpu() && gate.scalar_type() == at::kFloat && up.scalar_type() == at::kFloat && up.device() == gate.device() &&
               gate.sizes() == up.sizes() && gate.numel() > 0;
  // Measured against ATen built for the same instruction set (bench/kernels.ts): with SSE2 the
  // kernel loses both ways (0.59× at decoding's 8 × 704 without autograd, 0.96× forward and
  // backward at 1024 × 704), so the baseline path keeps ATen's passes.
  if (!fused || kernels::ActiveIsa() == kernels::Isa::kDefault) return at::silu(gate) * up;
  if (NeedsGrad({gate, up})) return SiluMulFunction::apply(gate, up);
  // Without autograd the kernel alone must beat ATen's two vectorized passes, which it does with
  // AVX-512 (1.24–3.0× at 8 × 704) but not reliably with AVX2 (0.84–1.17×). Its backward, which
  // also saves ATen's intermediates, wins there (1.1–2.3× at 1024 × 704).
  if (kernels::ActiveIsa() != kernels::Isa::kAvx512) return at::silu(gate) * up;
  // Without autograd, skip the node: applying one costs more than the kernel at decoding sizes.
  return Forward(gate, up);
}

}  // namespace fgrpo
