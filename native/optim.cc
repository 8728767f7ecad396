// Optimizer steps over lists of parameters. The state tensors (moments, momentum buffers) are
// owned by the TypeScript optimizer so they can be saved and restored; these functions only
// apply the update rules, without autograd history.
#include "common.h"

#include <c10/core/GradMode.h>

#include <cmath>

namespace fgrpo {

// adamwStep(params[], expAvg[], expAvgSq[], step, lr, beta1, beta2, eps, weightDecay)
// The decoupled-weight-decay Adam of Loshchilov & Hutter, exactly as torch.optim.AdamW:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
// Parameters without a gradient are skipped.
FGRPO_FN(AdamwStep)
  c10::AutoGradMode noGrad(false);
  auto params = ArgTensorList(info, 0);
  auto m = ArgTensorList(info, 1);
  auto v = ArgTensorList(info, 2);
  double step = ArgDouble(info, 3), lr = ArgDouble(info, 4), b1 = ArgDouble(info, 5), b2 = ArgDouble(info, 6);
  double eps = ArgDouble(info, 7), wd = ArgDouble(info, 8);
  if (m.size() != params.size() || v.size() != params.size()) throw std::invalid_argument("adamwStep: state lists do not match the parameters");
  double bc1 = 1.0 - std::pow(b1, step), bc2 = 1.0 - std::pow(b2, step);
  double stepSize = lr / bc1, bc2Sqrt = std::sqrt(bc2);
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor p = params[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (wd != 0.0) p.mul_(1.0 - lr * wd);
    m[i].mul_(b1).add_(g, 1.0 - b1);
    v[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
    at::Tensor denom = (v[i].sqrt() / bc2Sqrt).add_(eps);
    p.addcdiv_(m[i], denom, -stepSize);
  }
  return info.Env().Undefined();
FGRPO_END

// sgdStep(params[], momentumBuffers[] | null, lr, momentum, dampening, weightDecay, nesterov, firstStep)
// torch.optim.SGD's rule; on the first step the buffer is set to the gradient.
FGRPO_FN(SgdStep)
  c10::AutoGradMode noGrad(false);
  auto params = ArgTensorList(info, 0);
  std::vector<at::Tensor> bufs;
  if (!ArgIsMissing(info, 1)) bufs = ArgTensorList(info, 1);
  double lr = ArgDouble(info, 2), momentum = ArgDouble(info, 3), dampening = ArgDouble(info, 4), wd = ArgDouble(info, 5);
  bool nesterov = ArgBool(info, 6, false), first = ArgBool(info, 7, false);
  if (momentum != 0.0 && bufs.size() != params.size()) throw std::invalid_argument("sgdStep: momentum buffers do not match the parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor p = params[i];
    const at::Tensor& g0 = p.grad();
    if (!g0.defined()) continue;
    at::Tensor g = wd != 0.0 ? g0.add(p, wd) : g0;
    if (momentum != 0.0) {
      if (first) bufs[i].copy_(g);
      else bufs[i].mul_(momentum).add_(g, 1.0 - dampening);
      g = nesterov ? g.add(bufs[i], momentum) : bufs[i];
    }
    p.add_(g, -lr);
  }
  return info.Env().Undefined();
FGRPO_END

// gradNorm(params[]) -> the global L2 norm of all gradients (float64), without clipping.
static double GlobalGradNorm(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> norms;
  for (const auto& p : params) {
    const at::Tensor& g = p.grad();
    if (g.defined()) norms.push_back(g.detach().to(at::kDouble).norm(2));
  }
  if (norms.empty()) return 0.0;
  return at::stack(norms).norm(2).item<double>();
}

// clipGradNorm(params[], maxNorm) -> the norm before clipping. Non-finite norms are returned
// unclipped so the caller can skip the step.
FGRPO_FN(ClipGradNorm)
  c10::AutoGradMode noGrad(false);
  auto params = ArgTensorList(info, 0);
  double maxNorm = ArgDouble(info, 1);
  double total = GlobalGradNorm(params);
  double coef = maxNorm / (total + 1e-6);
  if (std::isfinite(total) && coef < 1.0) {
    for (auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().mul_(coef);
    }
  }
  return Napi::Number::New(info.Env(), total);
FGRPO_END

FGRPO_FN(GradNorm) return Napi::Number::New(info.Env(), GlobalGradNorm(ArgTensorList(info, 0))); FGRPO_END

void RegisterOptim(Napi::Env env, Napi::Object e) {
  e.Set("adamwStep", Napi::Function::New(env, AdamwStep, "adamwStep"));
  e.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  e.Set("clipGradNorm", Napi::Function::New(env, ClipGradNorm, "clipGradNorm"));
  e.Set("gradNorm", Napi::Function::New(env, GradNorm, "gradNorm"));
}

}  // namespace fgrpo
