// The loops behind the fused operations. They are written so that the compiler vectorizes them
// (no calls, no branches the compiler cannot turn into selects) and built for AVX-512, AVX2 and
// baseline x86-64, chosen at load time.
#include "kernels.h"

#include <limits>

// -O3 vectorizes these loops (the rest of the addon is built with -O2), and the selects in
// ExpApprox are if-converted only when the compiler may ignore floating-point traps. Nothing
// from the standard library is called below: functions built without this pragma would not be
// inlined into code built with it.
#pragma GCC optimize("O3", "no-trapping-math")

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FGRPO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FGRPO_CLONES
#endif

namespace fgrpo::kernels {

namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

// expf by Cody–Waite range reduction and Cephes' degree-5 polynomial (about 1 ulp); 0 below
// −87.3 (where expf leaves the normal range), +88.3 saturates.
inline float ExpApprox(float x) {
  float under = x < -87.3f ? 0.0f : 1.0f;
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // Round to nearest by adding and removing 1.5·2²³ (exact for |t| < 2²²): floorf is a call
  // in the baseline instruction set.
  constexpr float kRound = 12582912.0f;
  float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return e * scale * under;
}

inline float Exp(float x) { return ExpApprox(x); }
inline double Exp(double x) { return __builtin_exp(x); }  // float64 serves the checks: exact

// σ(2u) for the GELU argument x.
inline float GeluGate(float x) {
  float u = kSqrt2OverPi * (x + kCubic * x * x * x);
  return 1.0f / (1.0f + ExpApprox(-2.0f * u));
}

}  // namespace

FGRPO_CLONES void GeluTanhForward(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * GeluGate(x[i]);
}

// d/dx x·σ(2u) = σ + x·σ(1−σ)·2u',  u' = √(2/π)·(1 + 3·0.044715·x²)
FGRPO_CLONES void GeluTanhBackward(const float* x, const float* g, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float xi = x[i], s = GeluGate(xi);
    float du = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kCubic * xi * xi);
    dx[i] = g[i] * (s + xi * s * (1.0f - s) * du);
  }
}

// Reductions keep kLanes partial results, so that the loops vectorize without the compiler
// having to reassociate floating-point sums.
constexpr int kLanes = 16;

template <typename T>
inline T RowMax(const T* v, int64_t n) {
  const T ninf = -std::numeric_limits<T>::infinity();
  T lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) lanes[l] = ninf;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = v[j + l] > lanes[l] ? v[j + l] : lanes[l];
  }
  T max = ninf;
  for (int l = 0; l < kLanes; ++l) max = lanes[l] > max ? lanes[l] : max;
  for (; j < n; ++j) max = v[j] > max ? v[j] : max;
  return max;
}

// v ← exp(v − max), returning the sum.
template <typename T>
inline T ExpShiftSum(T* v, int64_t n, T max) {
  T lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      T e = Exp(v[j + l] - max);
      v[j + l] = e;
      lanes[l] += e;
    }
  }
  T sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; j < n; ++j) {
    v[j] = Exp(v[j] - max);
    sum += v[j];
  }
  return sum;
}

template <typename T>
inline T Dot(const T* a, const T* b, int64_t n) {
  T lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[j + l] * b[j + l];
  }
  T dot = 0;
  for (int l = 0; l < kLanes; ++l) dot += lanes[l];
  for (; j < n; ++j) dot += a[j] * b[j];
  return dot;
}

template <typename T>
inline void MaskedSoftmaxRowsImpl(T* s, int64_t rows, int64_t n, T scale, const T* additive, int64_t additiveRowStride, bool causal,
                                  int64_t causalOffset) {
  for (int64_t i = 0; i < rows; ++i) {
    T* row = s + i * n;
    int64_t visible = n;
    if (causal) {
      int64_t last = i + causalOffset;  // the last visible column
      visible = last < 0 ? 0 : (last + 1 < n ? last + 1 : n);
    }
    if (additive) {
      const T* add = additive + i * additiveRowStride;
      for (int64_t j = 0; j < visible; ++j) row[j] = row[j] * scale + add[j];
    } else {
      for (int64_t j = 0; j < visible; ++j) row[j] *= scale;
    }
    T max = RowMax(row, visible);
    if (max == -std::numeric_limits<T>::infinity()) {  // nothing visible: NaN, as softmax over all −∞
      for (int64_t j = 0; j < n; ++j) row[j] = std::numeric_limits<T>::quiet_NaN();
      continue;
    }
    T inv = T(1) / ExpShiftSum(row, visible, max);
    for (int64_t j = 0; j < visible; ++j) row[j] *= inv;
    for (int64_t j = visible; j < n; ++j) row[j] = 0;
  }
}

template <typename T>
inline void SoftmaxBackwardRowsImpl(const T* p, T* dp, int64_t rows, int64_t n, T scale) {
  for (int64_t r = 0; r < rows; ++r, p += n, dp += n) {
    T dot = Dot(dp, p, n);
    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
  }
}

FGRPO_CLONES void MaskedSoftmaxRows(float* s, int64_t rows, int64_t n, float scale, const float* additive, int64_t additiveRowStride,
                                    bool causal, int64_t causalOffset) {
  MaskedSoftmaxRowsImpl(s, rows, n, scale, additive, additiveRowStride, causal, causalOffset);
}
FGRPO_CLONES void MaskedSoftmaxRows(double* s, int64_t rows, int64_t n, double scale, const double* additive, int64_t additiveRowStride,
                                    bool causal, int64_t causalOffset) {
  MaskedSoftmaxRowsImpl(s, rows, n, scale, additive, additiveRowStride, causal, causalOffset);
}
FGRPO_CLONES void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n, float scale) {
  SoftmaxBackwardRowsImpl(p, dp, rows, n, scale);
}
FGRPO_CLONES void SoftmaxBackwardRows(const double* p, double* dp, int64_t rows, int64_t n, double scale) {
  SoftmaxBackwardRowsImpl(p, dp, rows, n, scale);
}

}  // namespace fgrpo::kernels
