// Autograd: requires_grad, backward, gradients, the grad-mode switch behind noGrad(), and
// torch::autograd::grad for gradients of chosen outputs with respect to chosen inputs.
#include "common.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

namespace fgrpo {

FGRPO_FN(SetRequiresGrad)
  at::Tensor a = ArgTensor(info, 0);
  a.set_requires_grad(ArgBool(info, 1, true));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(RequiresGrad) return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).requires_grad()); FGRPO_END
FGRPO_FN(IsLeaf) return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_leaf()); FGRPO_END

// backward(t, gradient?, retainGraph?)
FGRPO_FN(Backward)
  const at::Tensor& t = ArgTensor(info, 0);
  auto g = ArgOptTensor(info, 1);
  t.backward(g ? *g : at::Tensor(), ArgBool(info, 2, false), false);
  return info.Env().Undefined();
FGRPO_END

FGRPO_FN(Grad)
  const at::Tensor& g = ArgTensor(info, 0).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info, g);
FGRPO_END

// setGrad(t, g | null): null drops the gradient, like `p.grad = None`.
FGRPO_FN(SetGrad)
  at::Tensor a = ArgTensor(info, 0);
  auto g = ArgOptTensor(info, 1);
  a.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
FGRPO_END

FGRPO_FN(SetGradEnabled)
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(ArgBool(info, 0, true));
  return Napi::Boolean::New(info.Env(), previous);
FGRPO_END
FGRPO_FN(IsGradEnabled) return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); FGRPO_END

// autogradGrad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused)
// -> gradients (null where an input is unused and allowUnused is set)
FGRPO_FN(AutogradGrad)
  auto outputs = ArgTensorList(info, 0);
  auto inputs = ArgTensorList(info, 1);
  std::vector<at::Tensor> gradOutputs;
  if (!ArgIsMissing(info, 2)) gradOutputs = ArgTensorList(info, 2);
  bool retain = ArgBool(info, 3, false);
  bool create = ArgBool(info, 4, false);
  bool allowUnused = ArgBool(info, 5, false);
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused);
  Napi::Array arr = Napi::Array::New(info.Env(), grads.size());
  for (size_t k = 0; k < grads.size(); ++k) {
    arr.Set(static_cast<uint32_t>(k), grads[k].defined() ? Wrap(info, grads[k]) : info.Env().Null());
  }
  return arr;
FGRPO_END

void RegisterAutograd(Napi::Env env, Napi::Object e) {
#define REG(js, fn) e.Set(js, Napi::Function::New(env, fn, js))
  REG("setRequiresGrad", SetRequiresGrad);
  REG("requiresGrad", RequiresGrad);
  REG("isLeaf", IsLeaf);
  REG("backward", Backward);
  REG("grad", Grad);
  REG("setGrad", SetGrad);
  REG("setGradEnabled", SetGradEnabled);
  REG("isGradEnabled", IsGradEnabled);
  REG("autogradGrad", AutogradGrad);
#undef REG
}

}  // namespace fgrpo
