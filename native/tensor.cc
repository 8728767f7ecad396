// The tensor handle, argument conversion, creation from and export to JavaScript memory,
// tensor metadata, and process-wide settings (seed, threads, devices).
#include "common.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <cmath>
#include <memory>
#include <cstring>
#include <mutex>

namespace fgrpo {

static Napi::FunctionReference* g_ctor = nullptr;

Napi::Function TensorHandle::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "TensorHandle", {});
  g_ctor = new Napi::FunctionReference(Napi::Persistent(fn));
  return fn;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = g_ctor->New({});
  TensorHandle::Unwrap(obj)->Set(env, std::move(t));
  return obj;
}

bool TensorHandle::Is(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(g_ctor->Value());
}

TensorHandle* TensorHandle::Get(const Napi::Value& v) {
  void* raw = nullptr;
  if (napi_unwrap(v.Env(), v, &raw) != napi_ok) return nullptr;
  return static_cast<TensorHandle*>(raw);
}

// Node runs an addon's finalizers from the event loop, after the collection that found the
// object dead. A training loop is one long synchronous call, so a handle that was merely reset
// on dispose() waited for a finalizer that never came: ~220 bytes each, +0.25 MB of resident
// memory per RL step without end (issue 14). An explicit dispose therefore removes the wrap and
// deletes the handle at once; only forgotten handles are left to the finalizer.
void TensorHandle::Release(Napi::Env env, Napi::Object obj) {
  TensorHandle* h = Get(obj);
  if (h == nullptr) return;  // disposed before
  h->Reset(env);
  if (napi_remove_wrap(env, obj, nullptr) != napi_ok) return;  // then the finalizer deletes it
  delete h;  // ~ObjectWrap deletes its (now finalizer-less) reference
}

// V8 cannot see native memory; telling it how much each handle keeps alive lets the garbage
// collector run finalizers of forgotten handles before the process runs out of memory. Only a
// handle that alone holds its storage reports it: views (a KV cache's narrowed buffers, every
// reshape) hold no memory of their own, and counting them too made V8 run a full collection
// every ~90 ms of decoding for a 5 MB heap.
void TensorHandle::Set(Napi::Env env, at::Tensor t) {
  tensor_ = std::move(t);
  bool owns = tensor_.defined() && tensor_.device().is_cpu() && tensor_.has_storage() && tensor_.storage().use_count() == 1;
  reported_bytes_ = owns ? static_cast<int64_t>(tensor_.storage().nbytes()) : 0;
  if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, reported_bytes_);
}

void TensorHandle::Reset(Napi::Env env) {
  if (reported_bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
  reported_bytes_ = 0;
  tensor_ = at::Tensor();
}

void TensorHandle::Finalize(Napi::Env env) { Reset(env); }

const at::Tensor& TensorHandle::tensor() const {
  if (!tensor_.defined()) throw std::runtime_error("tensor used after dispose()");
  return tensor_;
}

// ---------------------------------------------------------------------------------------------
// argument conversion

static Napi::TypeError ArgError(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return Napi::TypeError::New(info.Env(), std::string("argument ") + std::to_string(i) + ": expected " + what);
}

bool ArgIsMissing(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

const at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !TensorHandle::Is(info[i])) throw ArgError(info, i, "a tensor");
  TensorHandle* h = TensorHandle::Get(info[i]);
  if (h == nullptr) throw std::runtime_error("tensor used after dispose()");
  return h->tensor();
}

c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (ArgIsMissing(info, i)) return c10::nullopt;
  return ArgTensor(info, i);
}

std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(info, i, "an array of tensors");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!TensorHandle::Is(v)) throw ArgError(info, i, "an array of tensors");
    TensorHandle* h = TensorHandle::Get(v);
    if (h == nullptr) throw std::runtime_error("tensor used after dispose()");
    out.push_back(h->tensor());
  }
  return out;
}

std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray()) throw ArgError(info, i, "an array of integers");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw ArgError(info, i, "an array of integers");
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::floor(d) != d) throw ArgError(info, i, "an array of integers");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError(info, i, "an integer");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (std::floor(d) != d) throw ArgError(info, i, "an integer");
  return static_cast<int64_t>(d);
}

double ArgDouble(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError(info, i, "a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, bool fallback) {
  if (ArgIsMissing(info, i)) return fallback;
  return info[i].ToBoolean().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString()) throw ArgError(info, i, "a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// Integer-valued numbers become integer scalars so that `intTensor + 1` stays an integer tensor.
at::Scalar ArgScalar(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double d = ArgDouble(info, i);
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::ScalarType ParseDtype(const std::string& n) {
  if (n == "float32") return at::kFloat;
  if (n == "float64") return at::kDouble;
  if (n == "float16") return at::kHalf;
  if (n == "bfloat16") return at::kBFloat16;
  if (n == "int64") return at::kLong;
  if (n == "int32") return at::kInt;
  if (n == "int16") return at::kShort;
  if (n == "int8") return at::kChar;
  if (n == "uint8") return at::kByte;
  if (n == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + n + "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool)");
}

std::string DtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return std::string("unsupported:") + c10::toString(t);
  }
}

at::ScalarType ArgDtype(const Napi::CallbackInfo& info, size_t i, at::ScalarType fallback) {
  if (ArgIsMissing(info, i)) return fallback;
  return ParseDtype(ArgString(info, i));
}

at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i) {
  if (ArgIsMissing(info, i)) return at::Device(at::kCPU);
  return at::Device(ArgString(info, i));
}

Napi::Value Wrap(const Napi::CallbackInfo& info, at::Tensor t) { return TensorHandle::Wrap(info.Env(), std::move(t)); }

Napi::Value WrapList(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); ++k) arr.Set(static_cast<uint32_t>(k), Wrap(info, ts[k]));
  return arr;
}

static at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtypeArg, size_t deviceArg) {
  return at::TensorOptions().dtype(ArgDtype(info, dtypeArg, at::kFloat)).device(ArgDevice(info, deviceArg));
}

// ---------------------------------------------------------------------------------------------
// creation and export

// fromBuffer(bytes: ArrayBuffer | TypedArray, shape, dtype, device?)
FGRPO_FN(FromBuffer)
  const void* src = nullptr;
  size_t bytes = 0;
  if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    src = ab.Data();
    bytes = ab.ByteLength();
  } else if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    bytes = ta.ByteLength();
  } else {
    throw Napi::TypeError::New(info.Env(), "argument 0: expected an ArrayBuffer or a typed array");
  }
  auto shape = ArgInts(info, 1);
  auto dtype = ArgDtype(info, 2, at::kFloat);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (t.nbytes() != bytes) {
    throw std::invalid_argument("fromBuffer: " + std::to_string(bytes) + " bytes do not fill shape " + c10::str(t.sizes()) + " of " + DtypeName(dtype) + " (" + std::to_string(t.nbytes()) + " bytes)");
  }
  if (bytes > 0) std::memcpy(t.data_ptr(), src, bytes);
  at::Device device = ArgDevice(info, 3);
  if (!device.is_cpu()) t = t.to(device);
  return Wrap(info, t);
FGRPO_END

// toBuffer(t) -> ArrayBuffer holding the tensor's elements, row-major.
FGRPO_FN(ToBuffer)
  at::Tensor t = ArgTensor(info, 0).detach().to(at::kCPU).contiguous();
  auto ab = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
  if (t.nbytes() > 0) std::memcpy(ab.Data(), t.data_ptr(), t.nbytes());
  return ab;
FGRPO_END

FGRPO_FN(Item)
  const at::Tensor& t = ArgTensor(info, 0);
  if (t.numel() != 1) throw std::invalid_argument("item(): tensor has " + std::to_string(t.numel()) + " elements, expected 1");
  return Napi::Number::New(info.Env(), t.item<double>());
FGRPO_END

FGRPO_FN(Zeros) return Wrap(info, at::zeros(ArgInts(info, 0), Options(info, 1, 2))); FGRPO_END
FGRPO_FN(Ones) return Wrap(info, at::ones(ArgInts(info, 0), Options(info, 1, 2))); FGRPO_END
FGRPO_FN(Empty) return Wrap(info, at::empty(ArgInts(info, 0), Options(info, 1, 2))); FGRPO_END
FGRPO_FN(Full) return Wrap(info, at::full(ArgInts(info, 0), ArgScalar(info, 1), Options(info, 2, 3))); FGRPO_END
FGRPO_FN(Randn) return Wrap(info, at::randn(ArgInts(info, 0), Options(info, 1, 2))); FGRPO_END
FGRPO_FN(Rand) return Wrap(info, at::rand(ArgInts(info, 0), Options(info, 1, 2))); FGRPO_END
FGRPO_FN(Randint)
  return Wrap(info, at::randint(ArgInt(info, 0), ArgInt(info, 1), ArgInts(info, 2), at::TensorOptions().dtype(ArgDtype(info, 3, at::kLong)).device(ArgDevice(info, 4))));
FGRPO_END
FGRPO_FN(Randperm) return Wrap(info, at::randperm(ArgInt(info, 0), at::TensorOptions().dtype(at::kLong).device(ArgDevice(info, 1)))); FGRPO_END
// arange(start, end, step, dtype?, device?)
FGRPO_FN(Arange)
  return Wrap(info, at::arange(ArgScalar(info, 0), ArgScalar(info, 1), ArgScalar(info, 2), at::TensorOptions().dtype(ArgDtype(info, 3, at::kLong)).device(ArgDevice(info, 4))));
FGRPO_END
FGRPO_FN(Eye) return Wrap(info, at::eye(ArgInt(info, 0), Options(info, 1, 2))); FGRPO_END

// ---------------------------------------------------------------------------------------------
// metadata and lifetime

FGRPO_FN(Shape)
  auto sizes = ArgTensor(info, 0).sizes();
  Napi::Array arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(sizes[k])));
  return arr;
FGRPO_END
FGRPO_FN(Dtype) return Napi::String::New(info.Env(), DtypeName(ArgTensor(info, 0).scalar_type())); FGRPO_END
FGRPO_FN(DeviceOf) return Napi::String::New(info.Env(), ArgTensor(info, 0).device().str()); FGRPO_END
FGRPO_FN(IsContiguous) return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_contiguous()); FGRPO_END
FGRPO_FN(Free)
  if (!TensorHandle::Is(info[0])) throw Napi::TypeError::New(info.Env(), "argument 0: expected a tensor");
  TensorHandle::Release(info.Env(), info[0].As<Napi::Object>());
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(IsFreed)
  if (!TensorHandle::Is(info[0])) throw Napi::TypeError::New(info.Env(), "argument 0: expected a tensor");
  TensorHandle* h = TensorHandle::Get(info[0]);
  return Napi::Boolean::New(info.Env(), h == nullptr || h->freed());
FGRPO_END
// Two handles that share storage (views) report the same pointer.
FGRPO_FN(DataPtr) return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(ArgTensor(info, 0).data_ptr()))); FGRPO_END

// ---------------------------------------------------------------------------------------------
// process-wide settings

static at::Generator DefaultGenerator(const at::Device& d) { return at::globalContext().defaultGenerator(d); }

FGRPO_FN(ManualSeed)
  uint64_t seed = static_cast<uint64_t>(ArgInt(info, 0));
  {
    auto gen = DefaultGenerator(at::Device(at::kCPU));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  if (at::hasCUDA()) {
    for (int64_t i = 0; i < static_cast<int64_t>(at::detail::getCUDAHooks().getNumGPUs()); ++i) {
      auto gen = DefaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
  }
  return info.Env().Undefined();
FGRPO_END

// The generator state as a uint8 tensor, for exact resume.
FGRPO_FN(GetRngState)
  auto gen = DefaultGenerator(ArgDevice(info, 0));
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Wrap(info, gen.get_state());
FGRPO_END
FGRPO_FN(SetRngState)
  auto gen = DefaultGenerator(ArgDevice(info, 1));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(ArgTensor(info, 0));
  return info.Env().Undefined();
FGRPO_END

// OpenBLAS keeps its own thread pool; libtorch's intra-op pool on top of it oversubscribes the
// cores (ARCHITECTURE.md measured a 2x slowdown), so both are set together. The BLAS library
// is whichever of these the process loaded; its symbols are looked up once.
struct BlasThreadSymbols {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
  BlasThreadSymbols() {
    const char* names[][2] = {{"openblas_get_num_threads", "openblas_set_num_threads"},
                              {"goto_get_num_threads", "goto_set_num_threads"},
                              {"MKL_Get_Max_Threads", "MKL_Set_Num_Threads"}};
    for (auto& [getName, setName] : names) {
      auto g = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, getName));
      auto s = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, setName));
      if (g || s) {
        get = g;
        set = s;
        return;
      }
    }
  }
};

static const BlasThreadSymbols& Blas() {
  static const BlasThreadSymbols symbols;
  return symbols;
}

int BlasThreads() { return Blas().get ? Blas().get() : 0; }

bool SetBlasThreads(int n) {
  if (!Blas().set) return false;
  Blas().set(n);
  return true;
}

// setNumThreads(intraOp, blas?) -> whether a BLAS thread setter was found
FGRPO_FN(SetNumThreads)
  at::set_num_threads(static_cast<int>(ArgInt(info, 0)));
  bool found = !ArgIsMissing(info, 1) && SetBlasThreads(static_cast<int>(ArgInt(info, 1)));
  return Napi::Boolean::New(info.Env(), found);
FGRPO_END
FGRPO_FN(GetNumThreads) return Napi::Number::New(info.Env(), at::get_num_threads()); FGRPO_END
// getBlasThreads() -> the BLAS library's thread count, or null when it has no getter
FGRPO_FN(GetBlasThreads)
  int n = BlasThreads();
  return n > 0 ? Napi::Value(Napi::Number::New(info.Env(), n)) : info.Env().Null();
FGRPO_END
FGRPO_FN(SetNumInteropThreads)
  at::set_num_interop_threads(static_cast<int>(ArgInt(info, 0)));
  return info.Env().Undefined();
FGRPO_END

FGRPO_FN(CudaDeviceCount)
  return Napi::Number::New(info.Env(), at::hasCUDA() ? static_cast<double>(at::detail::getCUDAHooks().getNumGPUs()) : 0.0);
FGRPO_END

FGRPO_FN(BuildInfo)
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("cuda", at::hasCUDA());
  o.Set("config", at::show_config());
  o.Set("isa", kernels::IsaName(kernels::ActiveIsa()));
  Napi::Array isas = Napi::Array::New(info.Env());
  for (kernels::Isa isa : kernels::SupportedIsas()) isas.Set(isas.Length(), kernels::IsaName(isa));
  o.Set("isas", isas);
  return o;
FGRPO_END

// setIsa(name): switches the fused kernels' instruction set (FGRPO_ISA at load does the same).
FGRPO_FN(SetIsa)
  kernels::SetIsa(kernels::ParseIsa(ArgString(info, 0), "setIsa"));
  return info.Env().Undefined();
FGRPO_END

// libtorch's own operator profiler, writing a Chrome trace (chrome://tracing, Perfetto) of every
// ATen call, forward and backward, when stopped.
static std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
FGRPO_FN(ProfileStart)
  if (profile) throw std::runtime_error("profile: a profile is already being recorded");
  profile = std::make_unique<torch::autograd::profiler::RecordProfile>(ArgString(info, 0));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(ProfileStop)
  profile.reset();
  return info.Env().Undefined();
FGRPO_END

void RegisterTensor(Napi::Env env, Napi::Object e) {
  e.Set("TensorHandle", TensorHandle::Init(env));
#define REG(js, fn) e.Set(js, Napi::Function::New(env, fn, js))
  REG("profileStart", ProfileStart);
  REG("profileStop", ProfileStop);
  REG("fromBuffer", FromBuffer);
  REG("toBuffer", ToBuffer);
  REG("item", Item);
  REG("zeros", Zeros);
  REG("ones", Ones);
  REG("empty", Empty);
  REG("full", Full);
  REG("randn", Randn);
  REG("rand", Rand);
  REG("randint", Randint);
  REG("randperm", Randperm);
  REG("arange", Arange);
  REG("eye", Eye);
  REG("shape", Shape);
  REG("dtype", Dtype);
  REG("device", DeviceOf);
  REG("isContiguous", IsContiguous);
  REG("free", Free);
  REG("isFreed", IsFreed);
  REG("dataPtr", DataPtr);
  REG("manualSeed", ManualSeed);
  REG("getRngState", GetRngState);
  REG("setRngState", SetRngState);
  REG("setNumThreads", SetNumThreads);
  REG("getNumThreads", GetNumThreads);
  REG("getBlasThreads", GetBlasThreads);
  REG("setNumInteropThreads", SetNumInteropThreads);
  REG("cudaDeviceCount", CudaDeviceCount);
  REG("buildInfo", BuildInfo);
  REG("setIsa", SetIsa);
#undef REG
}

}  // namespace fgrpo
