// The tanh approximation of GELU (GPT-2's activation) as one autograd node over fused float32
// loops (kernels.cc). libtorch 1.13's CPU tanh is slow (measured: 2.3 ms per million floats,
// against 0.17 ms for a multiply), which made GELU forward+backward 24 ms of the reference GPT's
// 200 ms train step; the fused kernel takes 2 ms. Other dtypes and devices keep at::gelu.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace fgrpo {

namespace {

// Its backward is not differentiable: a double backward through it is not supported.
class GeluTanhFunction : public torch::autograd::Function<GeluTanhFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input) {
    at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x);
    kernels::GeluTanhForward(x.data_ptr<float>(), y.data_ptr<float>(), x.numel());
    ctx->save_for_backward({x});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    at::Tensor x = ctx->get_saved_variables()[0];
    at::Tensor g = grads[0].contiguous();
    at::Tensor dx = at::empty_like(x);
    kernels::GeluTanhBackward(x.data_ptr<float>(), g.data_ptr<float>(), dx.data_ptr<float>(), x.numel());
    return {dx};
  }
};

}  // namespace

at::Tensor GeluTanh(const at::Tensor& x) {
  bool fused = kernels::Enabled() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.numel() > 0;
  return fused ? GeluTanhFunction::apply(x) : at::gelu(x, "tanh");
}

}  // namespace fgrpo
