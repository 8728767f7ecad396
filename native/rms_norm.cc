// RMSNorm as one autograd node over fused loops (kernels.cc), for float32 and float64 on the
// CPU. libtorch 1.13 has no rms_norm; composed from pow, mean, add, rsqrt and two muls it took
// seven operator calls (13 µs for [8, 256], where the arithmetic is well under 1 µs), nine
// times per decoding step of a four-layer model. Other dtypes and devices keep the composition.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace fgrpo {

namespace {

struct RmsNormResult {
  at::Tensor y, x, w, rstd;  // the output, then what the backward needs
};

// weight: [D] or an empty tensor for none (autograd functions cannot take undefined tensors).
RmsNormResult RmsNormForwardOnly(const at::Tensor& input, const at::Tensor& weight, double eps) {
  at::Tensor x = input.contiguous();
  const int64_t d = x.size(-1), rows = d == 0 ? 0 : x.numel() / d;
  at::Tensor y = at::empty_like(x), rstd = at::empty({rows}, x.options());
  bool hasWeight = weight.numel() > 0;
  at::Tensor w = hasWeight ? weight.contiguous() : weight;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rms_norm", [&] {
    kernels::RmsNormForward(x.data_ptr<scalar_t>(), hasWeight ? w.data_ptr<scalar_t>() : nullptr, y.data_ptr<scalar_t>(), rstd.data_ptr<scalar_t>(),
                            rows, d, static_cast<scalar_t>(eps));
  });
  return {y, x, w, rstd};
}

// Its backward is not differentiable: a double backward through it is not supported.
class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight, double eps) {
    RmsNormResult r = RmsNormForwardOnly(input, weight, eps);
    ctx->save_for_backward({r.x, r.w, r.rstd});
    return r.y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &rstd = saved[2];
    at::Tensor g = grads[0].contiguous();
    const int64_t d = x.size(-1), rows = d == 0 ? 0 : x.numel() / d;
    bool hasWeight = w.numel() > 0;
    at::Tensor dx = at::empty_like(x);
    // The weight gradient sums over every row; it accumulates in float64.
    at::Tensor dw = hasWeight && ctx->needs_input_grad(1) ? at::zeros({d}, x.options().dtype(at::kDouble)) : at::Tensor();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rms_norm_backward", [&] {
      kernels::RmsNormBackward(x.data_ptr<scalar_t>(), hasWeight ? w.data_ptr<scalar_t>() : nullptr, rstd.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                               dx.data_ptr<scalar_t>(), dw.defined() ? dw.data_ptr<double>() : nullptr, rows, d);
    });
    return {dx, dw.defined() ? dw.to(x.scalar_type()).view(w.sizes()) : at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor RmsNorm(const at::Tensor& x, const c10::optional<at::Tensor>& w, double eps) {
  auto dtype = x.scalar_type();
  bool fused = kernels::Enabled() && CpuFloating(x) && x.dim() > 0 &&
               (!w || (w->scalar_type() == dtype && w->device().is_cpu() && w->dim() == 1 && w->size(0) == x.size(-1)));
  if (fused) {
    at::Tensor weight = w ? *w : at::empty({0}, x.options());
    // Without autograd, skip the node: applying one costs more than the kernel at decoding sizes.
    return NeedsGrad({x, weight}) ? RmsNormFunction::apply(x, weight, eps) : RmsNormForwardOnly(x, weight, eps).y;
  }
  at::Tensor xf = (dtype == at::kHalf || dtype == at::kBFloat16) ? x.to(at::kFloat) : x;
  at::Tensor y = (xf * at::rsqrt(xf.pow(2).mean({-1}, true) + eps)).to(dtype);
  return w ? y * *w : y;
}

}  // namespace fgrpo
