// Shared pieces of the addon: the tensor handle class, argument conversion and the guard that
// turns every libtorch failure into a JavaScript Error instead of aborting the process.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>
#include <torch/version.h>

#include "kernels.h"

#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

namespace fgrpo {

// A JavaScript handle that owns one reference to an at::Tensor. The TypeScript side gives every
// handle an explicit lifetime (scopes, dispose()); the finalizer is only the last resort.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool Is(const Napi::Value& v);
  // The handle wrapped by obj, or nullptr once it was disposed (Release removes the wrap).
  static TensorHandle* Get(const Napi::Value& v);
  // Frees the tensor and the handle at once, and detaches the handle from obj (see tensor.cc).
  static void Release(Napi::Env env, Napi::Object obj);
  explicit TensorHandle(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

  const at::Tensor& tensor() const;
  void Reset(Napi::Env env);
  bool freed() const { return !tensor_.defined(); }

 private:
  void Set(Napi::Env env, at::Tensor t);
  at::Tensor tensor_;
  int64_t reported_bytes_ = 0;
};

// Runs f and converts C++ exceptions into JavaScript errors carrying libtorch's message.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define FGRPO_FN(name) static Napi::Value name(const Napi::CallbackInfo& info) { return Guard(info, [&]() -> Napi::Value {
#define FGRPO_END }); }

// Argument conversion. Each throws a JavaScript TypeError naming the argument position.
const at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i);
double ArgDouble(const Napi::CallbackInfo& info, size_t i);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, bool fallback);
std::string ArgString(const Napi::CallbackInfo& info, size_t i);
bool ArgIsMissing(const Napi::CallbackInfo& info, size_t i);
at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i);
at::ScalarType ArgDtype(const Napi::CallbackInfo& info, size_t i, at::ScalarType fallback);
at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i);

at::ScalarType ParseDtype(const std::string& name);
std::string DtypeName(at::ScalarType t);

Napi::Value Wrap(const Napi::CallbackInfo& info, at::Tensor t);
Napi::Value WrapList(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts);

// The BLAS library's thread count (0 when it has no getter), and setting it (false when it has
// no setter): OpenBLAS, GotoBLAS or MKL, whichever the process loaded.
int BlasThreads();
bool SetBlasThreads(int n);

// Conditions of the fused kernels' fast paths.
// A CPU tensor of float32 or float64, the dtypes the kernels are instantiated for.
inline bool CpuFloating(const at::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble);
}
// Whether autograd will record an operation on these tensors.
inline bool NeedsGrad(std::initializer_list<at::Tensor> ts) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : ts) {
    if (t.requires_grad()) return true;
  }
  return false;
}
// t itself when its last dimension is contiguous (what the kernels read), else a contiguous copy.
inline at::Tensor LastDimContiguous(const at::Tensor& t) { return t.stride(-1) == 1 ? t : t.contiguous(); }

// A 4-D tensor as a kernel view (kernels.h).
template <typename T>
kernels::View4<T> ViewOf(const at::Tensor& t) {
  return {t.data_ptr<std::remove_const_t<T>>(), {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}};
}

// Fused operations shared by the op files.
at::Tensor GeluTanh(const at::Tensor& x);
at::Tensor SiluMul(const at::Tensor& gate, const at::Tensor& up);
at::Tensor RmsNorm(const at::Tensor& x, const c10::optional<at::Tensor>& weight, double eps);
at::Tensor Rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool interleaved);
// softmax(q·kᵀ·scale + mask)·v over [B, H, T, D] (attention.cc).
at::Tensor ScaledDotAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask, bool causal,
                              double scale);

void RegisterTensor(Napi::Env env, Napi::Object exports);
void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterAttention(Napi::Env env, Napi::Object exports);
void RegisterPrefixAttention(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);
void RegisterCheckpoint(Napi::Env env, Napi::Object exports);
void RegisterOptim(Napi::Env env, Napi::Object exports);
void RegisterAllocator(Napi::Env env, Napi::Object exports);
void InstallCachingAllocator();

}  // namespace fgrpo
