// The loops behind the fused operations, built for each instruction set this compiler can target
// (AVX-512, AVX2 and the baseline: SSE2 on x86-64, NEON on arm64) from one source,
// kernels_body.h, each with register blocks shaped for its register file. One set is active at a
// time: the best the CPU has, or the one FGRPO_ISA names; "libtorch" turns the fused kernels off
// and every fused operation runs as the plain libtorch composition it replaces (for comparisons).
#include "kernels.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// -O3 vectorizes these loops (the rest of the addon is built with -O2), and the selects in
// ExpApprox are if-converted only when the compiler may ignore floating-point traps. Nothing
// from the standard library is called in the hot loops: functions built without this pragma
// would not be inlined into code built with it.
#pragma GCC optimize("O3", "no-trapping-math")
// Generic vectors wider than the baseline's registers change the ABI of calls that pass them;
// every function that does is inlined.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FGRPO_X86_ISAS 1
#endif

// Helpers are always inlined: each instruction set's kernels must compile them for that set (a
// helper left out of line is compiled for the baseline, and vector values then cross calls
// through memory).
#define FGRPO_INLINE inline __attribute__((always_inline))

namespace fgrpo::kernels {

#ifdef FGRPO_X86_ISAS
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,f16c")
namespace avx512 {
constexpr int kVecBytes = 64, kRegisters = 32, kMatRows = 8, kMatMaxVecs = 4, kTileRows = 4, kTileVecs = 1;
#include "kernels_body.h"
}  // namespace avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,f16c")
namespace avx2 {
constexpr int kVecBytes = 32, kRegisters = 16, kMatRows = 4, kMatMaxVecs = 8, kTileRows = 4, kTileVecs = 2;
#include "kernels_body.h"
}  // namespace avx2
#pragma GCC pop_options

// SSE2 has no fused multiply-add: a product needs a register of its own beside the block.
namespace baseline {
constexpr int kVecBytes = 16, kRegisters = 15, kMatRows = 4, kMatMaxVecs = 4, kTileRows = 4, kTileVecs = 2;
#include "kernels_body.h"
}  // namespace baseline
#elif defined(__aarch64__)
// NEON (arm64) has 32 registers of 16 bytes and fused multiply-adds.
namespace baseline {
constexpr int kVecBytes = 16, kRegisters = 32, kMatRows = 8, kMatMaxVecs = 4, kTileRows = 4, kTileVecs = 4;
#include "kernels_body.h"
}  // namespace baseline
#else
// Other compilers and targets (clang on x86-64: no per-set builds here) get SSE-sized blocks.
namespace baseline {
constexpr int kVecBytes = 16, kRegisters = 15, kMatRows = 4, kMatMaxVecs = 4, kTileRows = 4, kTileVecs = 2;
#include "kernels_body.h"
}  // namespace baseline
#endif

namespace {

// One instruction set's kernels. Overloads get one member per element type.
struct Table {
  void (*geluForward)(const float*, float*, int64_t);
  void (*geluBackward)(const float*, const float*, float*, int64_t);
  void (*siluMulForward)(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t);
  void (*siluMulBackward)(const float*, const float*, const float*, float*, float*, int64_t);
  void (*softmaxF)(float*, int64_t, int64_t, float, const float*, int64_t, bool);
  void (*softmaxD)(double*, int64_t, int64_t, double, const double*, int64_t, bool);
  void (*softmaxBackwardF)(const float*, float*, int64_t, int64_t, float);
  void (*softmaxBackwardD)(const double*, double*, int64_t, int64_t, double);
  void (*rmsForwardF)(const float*, const float*, float*, float*, int64_t, int64_t, float);
  void (*rmsForwardD)(const double*, const double*, double*, double*, int64_t, int64_t, double);
  void (*rmsBackwardF)(const float*, const float*, const float*, const float*, float*, double*, int64_t, int64_t);
  void (*rmsBackwardD)(const double*, const double*, const double*, const double*, double*, double*, int64_t, int64_t);
  void (*skinny)(const float*, int64_t, const float*, float*, int64_t, int64_t, int64_t);
  void (*attentionF)(const View4<const float>&, const View4<const float>&, const View4<const float>&, const View4<float>&,
                     const View4<const bool>*, const View4<const float>*, const AttentionDims&, float, bool);
  void (*attentionD)(const View4<const double>&, const View4<const double>&, const View4<const double>&, const View4<double>&,
                     const View4<const bool>*, const View4<const double>*, const AttentionDims&, double, bool);
  void (*prefixF)(const View4<const float>&, const View4<const float>&, const View4<const float>&, const bool*, const View4<const float>&,
                  const View4<const float>&, const View4<float>&, const PrefixAttentionDims&, float);
  void (*prefixD)(const View4<const double>&, const View4<const double>&, const View4<const double>&, const bool*, const View4<const double>&,
                  const View4<const double>&, const View4<double>&, const PrefixAttentionDims&, double);
  void (*ropeF)(const View4<const float>&, const View4<const float>&, const View4<const float>&, const View4<float>&, const RopeDims&, bool, bool);
  void (*ropeD)(const View4<const double>&, const View4<const double>&, const View4<const double>&, const View4<double>&, const RopeDims&, bool,
                bool);
};

#define FGRPO_TABLE(ns)                                                                                                                      \
  Table {                                                                                                                                    \
    ns::GeluTanhForward, ns::GeluTanhBackward, ns::SiluMulForward, ns::SiluMulBackward, ns::MaskedSoftmaxRows, ns::MaskedSoftmaxRows,         \
        ns::SoftmaxBackwardRows, ns::SoftmaxBackwardRows, ns::RmsNormForward, ns::RmsNormForward, ns::RmsNormBackward, ns::RmsNormBackward,   \
        ns::SkinnyMatmul, ns::AttentionRowsForward, ns::AttentionRowsForward, ns::PrefixAttentionForward, ns::PrefixAttentionForward,        \
        ns::Rope, ns::Rope                                                                                                                    \
  }

const Table kBaseline = FGRPO_TABLE(baseline);
#ifdef FGRPO_X86_ISAS
const Table kAvx2 = FGRPO_TABLE(avx2);
const Table kAvx512 = FGRPO_TABLE(avx512);
#endif

const Table* TableOf(Isa isa) {
#ifdef FGRPO_X86_ISAS
  if (isa == Isa::kAvx512) return &kAvx512;
  if (isa == Isa::kAvx2) return &kAvx2;
#endif
  return &kBaseline;
}

Isa active = BestIsa();
const Table* table = TableOf(active);

// The kernels of the active set; under "libtorch" (no caller reaches a kernel then, but a
// direct call still gets a correct result) those of the best set.
const Table& Active() { return *table; }

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    case Isa::kDefault: return "default";
    case Isa::kLibtorch: return "libtorch";
  }
  return "?";
}

bool IsaSupported(Isa isa) {
#ifdef FGRPO_X86_ISAS
  __builtin_cpu_init();  // this may run in a static constructor, before libgcc's
  if (isa == Isa::kAvx512) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
  }
  if (isa == Isa::kAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
#else
  if (isa == Isa::kAvx512 || isa == Isa::kAvx2) return false;
#endif
  return true;
}

Isa BestIsa() {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    if (IsaSupported(isa)) return isa;
  }
  return Isa::kDefault;
}

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kDefault, Isa::kLibtorch}) {
    if (IsaSupported(isa)) out.push_back(isa);
  }
  return out;
}

Isa ParseIsa(const std::string& name, const std::string& source) {
  std::string names;
  for (Isa isa : SupportedIsas()) names += std::string(names.empty() ? "" : ", ") + IsaName(isa);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kDefault, Isa::kLibtorch}) {
    if (name != IsaName(isa)) continue;
    if (!IsaSupported(isa)) throw std::invalid_argument(source + "=" + name + ": this CPU lacks it (it supports " + names + ")");
    return isa;
  }
  throw std::invalid_argument(source + "=" + name + ": unknown instruction set (this CPU supports " + names + ")");
}

Isa ActiveIsa() { return active; }
void SetIsa(Isa isa) {
  if (!IsaSupported(isa)) throw std::invalid_argument(std::string("instruction set ") + IsaName(isa) + ": this CPU lacks it");
  active = isa;
  table = TableOf(isa == Isa::kLibtorch ? BestIsa() : isa);
}
bool Enabled() { return active != Isa::kLibtorch; }

void GeluTanhForward(const float* x, float* y, int64_t n) { Active().geluForward(x, y, n); }
void GeluTanhBackward(const float* x, const float* g, float* dx, int64_t n) { Active().geluBackward(x, g, dx, n); }
void SiluMulForward(const float* g, int64_t ldg, const float* u, int64_t ldu, float* y, int64_t rows, int64_t cols) {
  Active().siluMulForward(g, ldg, u, ldu, y, rows, cols);
}
void SiluMulBackward(const float* g, const float* u, const float* dy, float* dg, float* du, int64_t n) { Active().siluMulBackward(g, u, dy, dg, du, n); }
void MaskedSoftmaxRows(float* s, int64_t rows, int64_t n, float scale, const float* additive, int64_t additiveRowStride, bool causal) {
  Active().softmaxF(s, rows, n, scale, additive, additiveRowStride, causal);
}
void MaskedSoftmaxRows(double* s, int64_t rows, int64_t n, double scale, const double* additive, int64_t additiveRowStride, bool causal) {
  Active().softmaxD(s, rows, n, scale, additive, additiveRowStride, causal);
}
void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n, float scale) { Active().softmaxBackwardF(p, dp, rows, n, scale); }
void SoftmaxBackwardRows(const double* p, double* dp, int64_t rows, int64_t n, double scale) { Active().softmaxBackwardD(p, dp, rows, n, scale); }
void RmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t d, float eps) {
  Active().rmsForwardF(x, w, y, rstd, rows, d, eps);
}
void RmsNormForward(const double* x, const double* w, double* y, double* rstd, int64_t rows, int64_t d, double eps) {
  Active().rmsForwardD(x, w, y, rstd, rows, d, eps);
}
void RmsNormBackward(const float* x, const float* w, const float* rstd, const float* g, float* dx, double* dw, int64_t rows, int64_t d) {
  Active().rmsBackwardF(x, w, rstd, g, dx, dw, rows, d);
}
void RmsNormBackward(const double* x, const double* w, const double* rstd, const double* g, double* dx, double* dw, int64_t rows, int64_t d) {
  Active().rmsBackwardD(x, w, rstd, g, dx, dw, rows, d);
}
void SkinnyMatmul(const float* x, int64_t ldx, const float* w, float* y, int64_t m, int64_t n, int64_t k) { Active().skinny(x, ldx, w, y, m, n, k); }
void AttentionRowsForward(const View4<const float>& q, const View4<const float>& k, const View4<const float>& v, const View4<float>& out,
                          const View4<const bool>* allowed, const View4<const float>* additive, const AttentionDims& dims, float scale, bool causal) {
  Active().attentionF(q, k, v, out, allowed, additive, dims, scale, causal);
}
void AttentionRowsForward(const View4<const double>& q, const View4<const double>& k, const View4<const double>& v, const View4<double>& out,
                          const View4<const bool>* allowed, const View4<const double>* additive, const AttentionDims& dims, double scale,
                          bool causal) {
  Active().attentionD(q, k, v, out, allowed, additive, dims, scale, causal);
}
void PrefixAttentionForward(const View4<const float>& q, const View4<const float>& prefixK, const View4<const float>& prefixV,
                            const bool* prefixAllowed, const View4<const float>& suffixK, const View4<const float>& suffixV,
                            const View4<float>& out, const PrefixAttentionDims& dims, float scale) {
  Active().prefixF(q, prefixK, prefixV, prefixAllowed, suffixK, suffixV, out, dims, scale);
}
void PrefixAttentionForward(const View4<const double>& q, const View4<const double>& prefixK, const View4<const double>& prefixV,
                            const bool* prefixAllowed, const View4<const double>& suffixK, const View4<const double>& suffixV,
                            const View4<double>& out, const PrefixAttentionDims& dims, double scale) {
  Active().prefixD(q, prefixK, prefixV, prefixAllowed, suffixK, suffixV, out, dims, scale);
}
void Rope(const View4<const float>& x, const View4<const float>& cos, const View4<const float>& sin, const View4<float>& y, const RopeDims& dims,
          bool interleaved, bool transposed) {
  Active().ropeF(x, cos, sin, y, dims, interleaved, transposed);
}
void Rope(const View4<const double>& x, const View4<const double>& cos, const View4<const double>& sin, const View4<double>& y, const RopeDims& dims,
          bool interleaved, bool transposed) {
  Active().ropeD(x, cos, sin, y, dims, interleaved, transposed);
}

}  // namespace fgrpo::kernels
