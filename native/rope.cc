// Rotary position embedding as one autograd node (kernels.cc) for float32 and float64 on the
// CPU: y = x·cos + x[p]·sin, which composed takes a gather, two multiplies and an add per
// application, twice per layer and decoding step. Other dtypes and devices keep the composition.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace fgrpo {

namespace {

// x: [B, H, T, D]; cos, sin: broadcastable to it. Returns a contiguous [B, H, T, D].
at::Tensor RopeLoop(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved, bool transposed) {
  at::Tensor xc = LastDimContiguous(x);
  auto sizes = x.sizes();
  at::Tensor c = LastDimContiguous(cos.expand(sizes)), s = LastDimContiguous(sin.expand(sizes));
  at::Tensor y = at::empty(sizes, x.options());
  kernels::RopeDims dims{x.size(0), x.size(1), x.size(2), x.size(3)};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rope", [&] {
    kernels::Rope(ViewOf<const scalar_t>(xc), ViewOf<const scalar_t>(c), ViewOf<const scalar_t>(s), ViewOf<scalar_t>(y), dims, interleaved, transposed);
  });
  return y;
}

// Its backward is not differentiable: a double backward through it is not supported. The
// tables get no gradient.
class RopeFunction : public torch::autograd::Function<RopeFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                            bool interleaved) {
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["interleaved"] = interleaved;
    return RopeLoop(x, cos, sin, interleaved, false);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor dx = RopeLoop(grads[0], saved[0], saved[1], ctx->saved_data["interleaved"].toBool(), true);
    return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor Rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved) {
  auto dtype = x.scalar_type();
  const int64_t d = x.size(-1);
  if (d % 2 != 0) throw std::invalid_argument("rope: the last dimension must be even, got " + std::to_string(d));
  bool fused = kernels::Enabled() && x.dim() == 4 && CpuFloating(x) && cos.scalar_type() == dtype &&
               sin.scalar_type() == dtype && !cos.requires_grad() && !sin.requires_grad();
  // Without autograd, skip the node: applying one costs more than the kernel at decoding sizes.
  if (fused) return NeedsGrad({x}) ? RopeFunction::apply(x, cos, sin, interleaved) : RopeLoop(x, cos, sin, interleaved, false);
  // p(i): i ^ 1 (interleaved) or (i + D/2) mod D (rotate-half).
  at::Tensor i = at::arange(d, x.options().dtype(at::kLong));
  at::Tensor perm = interleaved ? at::bitwise_xor(i, 1) : at::remainder(i + d / 2, d);
  return x * cos + x.index_select(-1, perm) * sin;
}

}  // namespace fgrpo
