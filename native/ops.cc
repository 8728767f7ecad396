// Tensor operations. Each is a thin call into ATen; autograd records them as usual.
// Binary operations accept a tensor or a number as their second operand.
#include "common.h"

#include <cmath>

namespace fgrpo {

static bool IsTensorArg(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && TensorHandle::Is(info[i]); }

// ---------------------------------------------------------------------------------------------
// elementwise

#define UNARY(Name, expr)                   \
  FGRPO_FN(Name)                            \
    const at::Tensor& a = ArgTensor(info, 0); \
    return Wrap(info, (expr));              \
  FGRPO_END

UNARY(Neg, at::neg(a))
UNARY(Exp, at::exp(a))
UNARY(Log, at::log(a))
UNARY(Log1p, at::log1p(a))
UNARY(Expm1, at::expm1(a))
UNARY(Sqrt, at::sqrt(a))
UNARY(Rsqrt, at::rsqrt(a))
UNARY(Tanh, at::tanh(a))
UNARY(Sigmoid, at::sigmoid(a))
UNARY(Abs, at::abs(a))
UNARY(Relu, at::relu(a))
UNARY(Silu, at::silu(a))
UNARY(Sin, at::sin(a))
UNARY(Cos, at::cos(a))
UNARY(Reciprocal, at::reciprocal(a))
UNARY(Sign, at::sign(a))
UNARY(Floor, at::floor(a))
UNARY(Ceil, at::ceil(a))
UNARY(Round, at::round(a))
UNARY(Square, at::mul(a, a))
UNARY(LogicalNot, at::logical_not(a))
UNARY(IsFinite, at::isfinite(a))
UNARY(IsNan, at::isnan(a))
UNARY(Contiguous, a.contiguous())
UNARY(Clone, a.clone())
UNARY(Detach, a.detach())

// gelu(x, approximate: "none" | "tanh"); the tanh form has a fused float32 kernel (gelu.cc).
FGRPO_FN(Gelu)
  std::string approximate = ArgIsMissing(info, 1) ? "none" : ArgString(info, 1);
  const at::Tensor& x = ArgTensor(info, 0);
  return Wrap(info, approximate == "tanh" ? GeluTanh(x) : at::gelu(x, approximate));
FGRPO_END

// clamp(x, min | null, max | null)
FGRPO_FN(Clamp)
  c10::optional<at::Scalar> lo, hi;
  if (!ArgIsMissing(info, 1)) lo = ArgScalar(info, 1);
  if (!ArgIsMissing(info, 2)) hi = ArgScalar(info, 2);
  return Wrap(info, at::clamp(ArgTensor(info, 0), lo, hi));
FGRPO_END

#define BINARY(Name, tensor_expr, scalar_expr)             \
  FGRPO_FN(Name)                                           \
    const at::Tensor& a = ArgTensor(info, 0);              \
    if (IsTensorArg(info, 1)) {                            \
      const at::Tensor& b = ArgTensor(info, 1);            \
      return Wrap(info, (tensor_expr));                    \
    }                                                      \
    at::Scalar s = ArgScalar(info, 1);                     \
    return Wrap(info, (scalar_expr));                      \
  FGRPO_END

BINARY(Add, at::add(a, b), at::add(a, s))
BINARY(Sub, at::sub(a, b), at::sub(a, s))
BINARY(Mul, at::mul(a, b), at::mul(a, s))
BINARY(Div, at::div(a, b), at::div(a, s))
BINARY(Pow, at::pow(a, b), at::pow(a, s))
BINARY(Maximum, at::maximum(a, b), at::clamp_min(a, s))
BINARY(Minimum, at::minimum(a, b), at::clamp_max(a, s))
BINARY(Remainder, at::remainder(a, b), at::remainder(a, s))
BINARY(Eq, at::eq(a, b), at::eq(a, s))
BINARY(Ne, at::ne(a, b), at::ne(a, s))
BINARY(Lt, at::lt(a, b), at::lt(a, s))
BINARY(Le, at::le(a, b), at::le(a, s))
BINARY(Gt, at::gt(a, b), at::gt(a, s))
BINARY(Ge, at::ge(a, b), at::ge(a, s))

FGRPO_FN(LogicalAnd) return Wrap(info, at::logical_and(ArgTensor(info, 0), ArgTensor(info, 1))); FGRPO_END
FGRPO_FN(LogicalOr) return Wrap(info, at::logical_or(ArgTensor(info, 0), ArgTensor(info, 1))); FGRPO_END

// where(cond, a | number, b | number)
FGRPO_FN(Where)
  const at::Tensor& c = ArgTensor(info, 0);
  bool ta = IsTensorArg(info, 1), tb = IsTensorArg(info, 2);
  if (ta && tb) return Wrap(info, at::where(c, ArgTensor(info, 1), ArgTensor(info, 2)));
  if (ta) return Wrap(info, at::where(c, ArgTensor(info, 1), ArgScalar(info, 2)));
  if (tb) return Wrap(info, at::where(c, ArgScalar(info, 1), ArgTensor(info, 2)));
  return Wrap(info, at::where(c, ArgScalar(info, 1), ArgScalar(info, 2)));
FGRPO_END

FGRPO_FN(MaskedFill) return Wrap(info, at::masked_fill(ArgTensor(info, 0), ArgTensor(info, 1), ArgScalar(info, 2))); FGRPO_END

// ---------------------------------------------------------------------------------------------
// in-place updates (no autograd history is expected on their targets)

FGRPO_FN(Copy_)
  at::Tensor a = ArgTensor(info, 0);
  a.copy_(ArgTensor(info, 1));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(Fill_)
  at::Tensor a = ArgTensor(info, 0);
  a.fill_(ArgScalar(info, 1));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(Zero_)
  at::Tensor a = ArgTensor(info, 0);
  a.zero_();
  return info.Env().Undefined();
FGRPO_END
// add_(a, b, alpha)
FGRPO_FN(Add_)
  at::Tensor a = ArgTensor(info, 0);
  if (IsTensorArg(info, 1)) a.add_(ArgTensor(info, 1), ArgIsMissing(info, 2) ? at::Scalar(1) : ArgScalar(info, 2));
  else a.add_(ArgScalar(info, 1));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(Mul_)
  at::Tensor a = ArgTensor(info, 0);
  if (IsTensorArg(info, 1)) a.mul_(ArgTensor(info, 1));
  else a.mul_(ArgScalar(info, 1));
  return info.Env().Undefined();
FGRPO_END
FGRPO_FN(MaskedFill_)
  at::Tensor a = ArgTensor(info, 0);
  a.masked_fill_(ArgTensor(info, 1), ArgScalar(info, 2));
  return info.Env().Undefined();
FGRPO_END
// indexCopy_(a, dim, index, src)
FGRPO_FN(IndexCopy_)
  at::Tensor a = ArgTensor(info, 0);
  a.index_copy_(ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3));
  return info.Env().Undefined();
FGRPO_END

// ---------------------------------------------------------------------------------------------
// reductions: (x, dims | null, keepdim)

static std::vector<int64_t> OptDims(const Napi::CallbackInfo& info, size_t i) {
  return ArgIsMissing(info, i) ? std::vector<int64_t>{} : ArgInts(info, i);
}

FGRPO_FN(Sum)
  const at::Tensor& a = ArgTensor(info, 0);
  auto dims = OptDims(info, 1);
  if (dims.empty()) return Wrap(info, at::sum(a));
  return Wrap(info, at::sum(a, dims, ArgBool(info, 2, false)));
FGRPO_END
FGRPO_FN(Mean)
  const at::Tensor& a = ArgTensor(info, 0);
  auto dims = OptDims(info, 1);
  if (dims.empty()) return Wrap(info, at::mean(a));
  return Wrap(info, at::mean(a, dims, ArgBool(info, 2, false)));
FGRPO_END
// var(x, dims | null, keepdim, unbiased)
FGRPO_FN(Var)
  const at::Tensor& a = ArgTensor(info, 0);
  auto dims = OptDims(info, 1);
  bool unbiased = ArgBool(info, 3, true);
  if (dims.empty()) return Wrap(info, at::var(a, unbiased));
  return Wrap(info, at::var(a, dims, unbiased, ArgBool(info, 2, false)));
FGRPO_END
FGRPO_FN(Logsumexp) return Wrap(info, at::logsumexp(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2, false))); FGRPO_END
// max/min over everything, or (values, indices) along one dim
FGRPO_FN(Max)
  const at::Tensor& a = ArgTensor(info, 0);
  if (ArgIsMissing(info, 1)) return Wrap(info, at::max(a));
  auto r = at::max(a, ArgInt(info, 1), ArgBool(info, 2, false));
  return WrapList(info, {std::get<0>(r), std::get<1>(r)});
FGRPO_END
FGRPO_FN(Min)
  const at::Tensor& a = ArgTensor(info, 0);
  if (ArgIsMissing(info, 1)) return Wrap(info, at::min(a));
  auto r = at::min(a, ArgInt(info, 1), ArgBool(info, 2, false));
  return WrapList(info, {std::get<0>(r), std::get<1>(r)});
FGRPO_END
FGRPO_FN(Argmax)
  const at::Tensor& a = ArgTensor(info, 0);
  if (ArgIsMissing(info, 1)) return Wrap(info, at::argmax(a));
  return Wrap(info, at::argmax(a, ArgInt(info, 1), ArgBool(info, 2, false)));
FGRPO_END
FGRPO_FN(Argmin)
  const at::Tensor& a = ArgTensor(info, 0);
  if (ArgIsMissing(info, 1)) return Wrap(info, at::argmin(a));
  return Wrap(info, at::argmin(a, ArgInt(info, 1), ArgBool(info, 2, false)));
FGRPO_END
FGRPO_FN(Any) return Wrap(info, at::any(ArgTensor(info, 0))); FGRPO_END
FGRPO_FN(All) return Wrap(info, at::all(ArgTensor(info, 0))); FGRPO_END
FGRPO_FN(Cumsum) return Wrap(info, at::cumsum(ArgTensor(info, 0), ArgInt(info, 1))); FGRPO_END
// norm(x, p) over all elements
FGRPO_FN(Norm) return Wrap(info, at::norm(ArgTensor(info, 0), ArgScalar(info, 1))); FGRPO_END

// ---------------------------------------------------------------------------------------------
// shape and indexing

FGRPO_FN(Reshape) return Wrap(info, at::reshape(ArgTensor(info, 0), ArgInts(info, 1))); FGRPO_END
FGRPO_FN(View) return Wrap(info, ArgTensor(info, 0).view(ArgInts(info, 1))); FGRPO_END
FGRPO_FN(Transpose) return Wrap(info, at::transpose(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2))); FGRPO_END
FGRPO_FN(Permute) return Wrap(info, ArgTensor(info, 0).permute(ArgInts(info, 1))); FGRPO_END
FGRPO_FN(Narrow) return Wrap(info, at::narrow(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3))); FGRPO_END
// slice(x, dim, start, end, step)
FGRPO_FN(Slice) return Wrap(info, at::slice(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3), ArgIsMissing(info, 4) ? 1 : ArgInt(info, 4))); FGRPO_END
FGRPO_FN(Select) return Wrap(info, at::select(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2))); FGRPO_END
FGRPO_FN(Squeeze)
  const at::Tensor& a = ArgTensor(info, 0);
  return Wrap(info, ArgIsMissing(info, 1) ? at::squeeze(a) : at::squeeze(a, ArgInt(info, 1)));
FGRPO_END
FGRPO_FN(Unsqueeze) return Wrap(info, at::unsqueeze(ArgTensor(info, 0), ArgInt(info, 1))); FGRPO_END
FGRPO_FN(Flatten) return Wrap(info, at::flatten(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2))); FGRPO_END
FGRPO_FN(Expand) return Wrap(info, ArgTensor(info, 0).expand(ArgInts(info, 1))); FGRPO_END
FGRPO_FN(Repeat) return Wrap(info, ArgTensor(info, 0).repeat(ArgInts(info, 1))); FGRPO_END
FGRPO_FN(Flip) return Wrap(info, at::flip(ArgTensor(info, 0), ArgInts(info, 1))); FGRPO_END
FGRPO_FN(Cat) return Wrap(info, at::cat(ArgTensorList(info, 0), ArgInt(info, 1))); FGRPO_END
FGRPO_FN(Stack) return Wrap(info, at::stack(ArgTensorList(info, 0), ArgInt(info, 1))); FGRPO_END
FGRPO_FN(Chunk) return WrapList(info, at::chunk(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2))); FGRPO_END
FGRPO_FN(Split) return WrapList(info, at::split_with_sizes(ArgTensor(info, 0), ArgInts(info, 1), ArgInt(info, 2))); FGRPO_END
FGRPO_FN(IndexSelect) return Wrap(info, at::index_select(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2))); FGRPO_END
FGRPO_FN(Gather) return Wrap(info, at::gather(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2))); FGRPO_END
FGRPO_FN(ScatterAdd) return Wrap(info, at::scatter_add(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3))); FGRPO_END
// scatter(x, dim, index, src | number)
FGRPO_FN(Scatter)
  const at::Tensor& a = ArgTensor(info, 0);
  if (IsTensorArg(info, 3)) return Wrap(info, at::scatter(a, ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3)));
  return Wrap(info, at::scatter(a, ArgInt(info, 1), ArgTensor(info, 2), ArgScalar(info, 3)));
FGRPO_END
FGRPO_FN(Triu) return Wrap(info, at::triu(ArgTensor(info, 0), ArgIsMissing(info, 1) ? 0 : ArgInt(info, 1))); FGRPO_END
FGRPO_FN(Tril) return Wrap(info, at::tril(ArgTensor(info, 0), ArgIsMissing(info, 1) ? 0 : ArgInt(info, 1))); FGRPO_END
// to(x, dtype | null, device | null)
FGRPO_FN(To)
  at::Tensor a = ArgTensor(info, 0);
  if (!ArgIsMissing(info, 2)) a = a.to(ArgDevice(info, 2));
  if (!ArgIsMissing(info, 1)) a = a.to(ArgDtype(info, 1, a.scalar_type()));
  return Wrap(info, a);
FGRPO_END

// ---------------------------------------------------------------------------------------------
// linear algebra and neural-network functions

// Products of a few float32 rows with a contiguous [K, N] matrix, when no gradient flows
// (decoding), use the register-blocked kernel; everything else goes to at::matmul (BLAS).
constexpr int64_t kMaxSkinnyRows = 16;

// The fewest rows for which the kernel beats BLAS, per instruction set: measured by
// bench/kernels.ts against OpenBLAS built for the same set (OPENBLAS_CORETYPE=SkylakeX, Haswell,
// Nehalem, with ATEN_CPU_CAPABILITY to match) at the reference model's shapes. OpenBLAS's
// AVX-512 small-matrix path wins up to 5 rows (kernel at 0.78–0.99× of it), the kernel from 6
// (1.35–2.0×); with AVX2 or SSE the kernel wins from one row (1.15–4.5× and 1.24–5.8×).
static int64_t MinSkinnyRows() { return kernels::ActiveIsa() == kernels::Isa::kAvx512 ? 6 : 1; }

static bool SkinnyApplies(const at::Tensor& a, const at::Tensor& b) {
  if (!kernels::Enabled() || a.dim() < 1 || b.dim() != 2 || !a.device().is_cpu() || !b.device().is_cpu()) return false;
  if (a.scalar_type() != at::kFloat || b.scalar_type() != at::kFloat || !b.is_contiguous()) return false;
  if (NeedsGrad({a, b})) return false;
  const int64_t k = a.size(-1);
  return k == b.size(0) && k > 0 && a.numel() > 0 && a.numel() / k <= kMaxSkinnyRows && a.numel() / k >= MinSkinnyRows();
}

FGRPO_FN(Matmul)
  const at::Tensor& a = ArgTensor(info, 0);
  const at::Tensor& b = ArgTensor(info, 1);
  if (!SkinnyApplies(a, b)) return Wrap(info, at::matmul(a, b));
  at::Tensor rows = LastDimContiguous(a.reshape({-1, a.size(-1)}));
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(1);
  at::Tensor y = at::empty(shape, a.options());
  kernels::SkinnyMatmul(rows.data_ptr<float>(), rows.stride(0), b.data_ptr<float>(), y.data_ptr<float>(), rows.size(0), b.size(1), rows.size(1));
  return Wrap(info, y);
FGRPO_END
FGRPO_FN(Bmm) return Wrap(info, at::bmm(ArgTensor(info, 0), ArgTensor(info, 1))); FGRPO_END
FGRPO_FN(Linear) return Wrap(info, at::linear(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2))); FGRPO_END
FGRPO_FN(Softmax) return Wrap(info, at::softmax(ArgTensor(info, 0), ArgInt(info, 1))); FGRPO_END
FGRPO_FN(LogSoftmax) return Wrap(info, at::log_softmax(ArgTensor(info, 0), ArgInt(info, 1))); FGRPO_END
FGRPO_FN(Embedding) return Wrap(info, at::embedding(ArgTensor(info, 0), ArgTensor(info, 1))); FGRPO_END
FGRPO_FN(Dropout) return Wrap(info, at::dropout(ArgTensor(info, 0), ArgDouble(info, 1), ArgBool(info, 2, true))); FGRPO_END

// layerNorm(x, normalizedShape, weight?, bias?, eps)
FGRPO_FN(LayerNorm)
  return Wrap(info, at::layer_norm(ArgTensor(info, 0), ArgInts(info, 1), ArgOptTensor(info, 2), ArgOptTensor(info, 3), ArgDouble(info, 4)));
FGRPO_END

// rmsNorm(x, weight?, eps): x / sqrt(mean(x^2, last dim) + eps) * weight (rms_norm.cc), in float32
// or wider so half-precision inputs keep their accuracy (as Llama reference code does).
FGRPO_FN(RmsNormOp)
  return Wrap(info, RmsNorm(ArgTensor(info, 0), ArgOptTensor(info, 1), ArgDouble(info, 2)));
FGRPO_END

// rope(x [B, H, T, D], cos, sin, interleaved): x·cos + x[p]·sin with signed sine tables
// (src/nn/rope.ts), p pairing i with i ± D/2 or, interleaved, with i ^ 1 (rope.cc).
FGRPO_FN(RopeOp) return Wrap(info, Rope(ArgTensor(info, 0), ArgTensor(info, 1), ArgTensor(info, 2), ArgBool(info, 3, false))); FGRPO_END

// siluMul(gate, up) = silu(gate)·up, SwiGLU's product; fused for float32 on the CPU (silu_mul.cc).
FGRPO_FN(SiluMulOp) return Wrap(info, SiluMul(ArgTensor(info, 0), ArgTensor(info, 1))); FGRPO_END

// crossEntropy(logits [N, C], targets [N], ignoreIndex, reduction: "mean" | "sum" | "none")
FGRPO_FN(CrossEntropy)
  std::string red = ArgIsMissing(info, 3) ? "mean" : ArgString(info, 3);
  int64_t r = red == "none" ? at::Reduction::None : red == "sum" ? at::Reduction::Sum : at::Reduction::Mean;
  return Wrap(info, at::cross_entropy_loss(ArgTensor(info, 0), ArgTensor(info, 1), {}, r, ArgIsMissing(info, 2) ? -100 : ArgInt(info, 2), 0.0));
FGRPO_END

// ---------------------------------------------------------------------------------------------
// sampling and ordering

FGRPO_FN(Multinomial) return Wrap(info, at::multinomial(ArgTensor(info, 0), ArgInt(info, 1), ArgBool(info, 2, false))); FGRPO_END
// topk(x, k, dim, largest, sorted) -> [values, indices]
FGRPO_FN(Topk)
  auto r = at::topk(ArgTensor(info, 0), ArgInt(info, 1), ArgIsMissing(info, 2) ? -1 : ArgInt(info, 2), ArgBool(info, 3, true), ArgBool(info, 4, true));
  return WrapList(info, {std::get<0>(r), std::get<1>(r)});
FGRPO_END
// sort(x, dim, descending, stable) -> [values, indices]
FGRPO_FN(Sort)
  auto r = at::sort(ArgTensor(info, 0), ArgBool(info, 3, true), ArgIsMissing(info, 1) ? -1 : ArgInt(info, 1), ArgBool(info, 2, false));
  return WrapList(info, {std::get<0>(r), std::get<1>(r)});
FGRPO_END

void RegisterOps(Napi::Env env, Napi::Object e) {
#define REG(js, fn) e.Set(js, Napi::Function::New(env, fn, js))
  REG("neg", Neg); REG("exp", Exp); REG("log", Log); REG("log1p", Log1p); REG("expm1", Expm1);
  REG("sqrt", Sqrt); REG("rsqrt", Rsqrt); REG("tanh", Tanh); REG("sigmoid", Sigmoid); REG("abs", Abs);
  REG("relu", Relu); REG("silu", Silu); REG("gelu", Gelu); REG("sin", Sin); REG("cos", Cos);
  REG("reciprocal", Reciprocal); REG("sign", Sign); REG("floor", Floor); REG("ceil", Ceil); REG("round", Round);
  REG("square", Square); REG("logicalNot", LogicalNot); REG("isFinite", IsFinite); REG("isNan", IsNan);
  REG("contiguous", Contiguous); REG("clone", Clone); REG("detach", Detach); REG("clamp", Clamp);
  REG("add", Add); REG("sub", Sub); REG("mul", Mul); REG("div", Div); REG("pow", Pow);
  REG("maximum", Maximum); REG("minimum", Minimum); REG("remainder", Remainder);
  REG("eq", Eq); REG("ne", Ne); REG("lt", Lt); REG("le", Le); REG("gt", Gt); REG("ge", Ge);
  REG("logicalAnd", LogicalAnd); REG("logicalOr", LogicalOr); REG("where", Where); REG("maskedFill", MaskedFill);
  REG("copy_", Copy_); REG("fill_", Fill_); REG("zero_", Zero_); REG("add_", Add_); REG("mul_", Mul_);
  REG("maskedFill_", MaskedFill_); REG("indexCopy_", IndexCopy_);
  REG("sum", Sum); REG("mean", Mean); REG("var", Var); REG("logsumexp", Logsumexp); REG("max", Max); REG("min", Min);
  REG("argmax", Argmax); REG("argmin", Argmin); REG("any", Any); REG("all", All); REG("cumsum", Cumsum); REG("norm", Norm);
  REG("reshape", Reshape); REG("view", View); REG("transpose", Transpose); REG("permute", Permute);
  REG("narrow", Narrow); REG("slice", Slice); REG("select", Select); REG("squeeze", Squeeze); REG("unsqueeze", Unsqueeze);
  REG("flatten", Flatten); REG("expand", Expand); REG("repeat", Repeat); REG("flip", Flip);
  REG("cat", Cat); REG("stack", Stack); REG("chunk", Chunk); REG("split", Split);
  REG("indexSelect", IndexSelect); REG("gather", Gather); REG("scatterAdd", ScatterAdd); REG("scatter", Scatter);
  REG("triu", Triu); REG("tril", Tril); REG("to", To);
  REG("matmul", Matmul); REG("bmm", Bmm); REG("linear", Linear); REG("softmax", Softmax); REG("logSoftmax", LogSoftmax);
  REG("embedding", Embedding); REG("dropout", Dropout); REG("layerNorm", LayerNorm); REG("rmsNorm", RmsNormOp); REG("rope", RopeOp);
  REG("siluMul", SiluMulOp);
  REG("crossEntropy", CrossEntropy);
  REG("multinomial", Multinomial); REG("topk", Topk); REG("sort", Sort);
#undef REG
}

}  // namespace fgrpo
