// The kernels' one source, compiled once per instruction set: kernels.cc includes this file
// inside namespace fgrpo::kernels::<isa>, under that set's `#pragma GCC target`, after defining
// the shape of its registers and blocks:
//   kVecBytes              the width of one vector register (64 AVX-512, 32 AVX2, 16 SSE/NEON);
//   kRegisters             the vector registers (32 zmm or NEON; 16 ymm or SSE xmm);
//   kMatRows, kMatMaxVecs  the skinny product's register block: rows of x, and at most so many
//                          vectors of columns (as many as fit, see kMatVecs);
//   kTileRows × kTileVecs  the prefix attention's block: query rows × vectors of keys or values.
// A block holds rows·vecs accumulators, vecs loaded operands and one broadcast: it must fit the
// register file (32 zmm; 16 ymm or xmm), or the hot loop spills to the stack.
// No header is included here (kernels.cc includes them first, outside the target pragma), and
// no guard: each inclusion is a new instance.

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

// expf by Cody–Waite range reduction and Cephes' degree-5 polynomial (about 1 ulp) for
// x ≥ −87.3; below, e^−87.3 (the argument is clamped), and +88.3 saturates. A NaN argument
// gives e^−87.3: the clamps are written as max/min (x > c ? x : c is maxps's own semantics,
// one instruction; the NaN-keeping form is a compare and a blend per clamp), so callers whose
// result must stay NaN multiply by x, or test for NaN themselves.
FGRPO_INLINE float ExpClamped(float x) {
  x = x > -87.3f ? x : -87.3f;
  x = x < 88.3f ? x : 88.3f;
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
  return e * scale;
}

// expf, 0 below −87.3 (where expf leaves the normal range): masked scores (−∞) weigh nothing;
// NaN stays NaN (a NaN score makes its softmax row NaN, as at::softmax does).
FGRPO_INLINE float ExpApprox(float x) { return x < -87.3f ? 0.0f : (x != x ? x : ExpClamped(x)); }

FGRPO_INLINE float Exp(float x) { return ExpApprox(x); }
FGRPO_INLINE double Exp(double x) { return __builtin_exp(x); }  // float64 serves the checks: exact

// 1/(1 + e^−x) with the clamped exp: 1 + e^−87.3 is 1 in float32, as 1 + 0 is, and without a
// select after the exp the compiler emits one division per vector instead of two and a blend.
FGRPO_INLINE float Sigmoid(float x) { return 1.0f / (1.0f + ExpClamped(-x)); }

// σ(2u) for the GELU argument x.
FGRPO_INLINE float GeluGate(float x) {
  float u = kSqrt2OverPi * (x + kCubic * x * x * x);
  return Sigmoid(2.0f * u);
}

// One register of T (GCC's generic vectors: the compiler maps them to zmm, ymm, xmm or NEON
// registers), its unaligned form, and loads and stores of it.
template <typename T>
struct Lanes {
  typedef T V __attribute__((vector_size(kVecBytes)));
  typedef T U __attribute__((vector_size(kVecBytes), aligned(sizeof(T))));
  static constexpr int kN = kVecBytes / static_cast<int>(sizeof(T));
};
template <typename T>
FGRPO_INLINE typename Lanes<T>::V LoadLanes(const T* p) {
  return *reinterpret_cast<const typename Lanes<T>::U*>(p);
}
template <typename T>
FGRPO_INLINE void StoreLanes(T* p, typename Lanes<T>::V v) {
  *reinterpret_cast<typename Lanes<T>::U*>(p) = v;
}
// The sum of a register's lanes by halving: each step adds the register to itself with lanes
// l and l ^ w swapped (log2(N) adds instead of N − 1 dependent ones, all in registers: going
// through memory for the halves made GCC keep the running sums of the callers' loops there).
// The swap patterns are built from a parameter pack so that they are constants (filled lane by
// lane in a loop, GCC 12 built them at run time under AVX-512, at every dot product).
template <typename T>
struct LaneIndex {
  typedef typename std::conditional<sizeof(T) == 4, int32_t, int64_t>::type Int;
  typedef Int I __attribute__((vector_size(kVecBytes)));
};
template <typename T, int W, int... L>
FGRPO_INLINE typename LaneIndex<T>::I XorLanes(std::integer_sequence<int, L...>) {
  return typename LaneIndex<T>::I{(L ^ W)...};
}
template <typename T, int W>
FGRPO_INLINE typename Lanes<T>::V FoldLanes(typename Lanes<T>::V v) {
  if constexpr (W == 0) {
    return v;
  } else {
    v += __builtin_shuffle(v, XorLanes<T, W>(std::make_integer_sequence<int, Lanes<T>::kN>{}));
    return FoldLanes<T, W / 2>(v);
  }
}
template <typename T>
FGRPO_INLINE T SumLanes(typename Lanes<T>::V v) {
  return FoldLanes<T, Lanes<T>::kN / 2>(v)[0];
}

// Reductions keep two registers of partial results, so that the loops vectorize without the
// compiler having to reassociate floating-point sums and two add chains overlap.
template <typename T>
constexpr int kPartials = 2 * Lanes<T>::kN;

// The largest of v[0, n), in two registers of running maxima (vector selects: the compiler does
// not vectorize a scalar max that must keep NaN semantics).
template <typename T>
FGRPO_INLINE T RowMax(const T* v, int64_t n) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::kN;
  const T ninf = -std::numeric_limits<T>::infinity();
  V m0 = V{} + ninf, m1 = m0;
  int64_t j = 0;
  for (; j + 2 * N <= n; j += 2 * N) {
    V a = LoadLanes(v + j), b = LoadLanes(v + j + N);
    m0 = a > m0 ? a : m0;
    m1 = b > m1 ? b : m1;
  }
  m0 = m1 > m0 ? m1 : m0;
  T max = ninf;
  for (int l = 0; l < N; ++l) max = m0[l] > max ? m0[l] : max;
  for (; j < n; ++j) max = v[j] > max ? v[j] : max;
  return max;
}

// ExpApprox over one register, written with vector operations: the loop vectorizer, given the
// scalar form inside a reduction, kept part of the running sum and the exp's constants on the
// stack under AVX2's 16 registers (stored and reloaded every iteration).
FGRPO_INLINE Lanes<float>::V ExpLanes(Lanes<float>::V x) {
  using V = Lanes<float>::V;
  typedef int32_t I __attribute__((vector_size(kVecBytes)));
  const V lo = V{} - 87.3f, hi = V{} + 88.3f;
  const V under = x < lo ? V{} : V{} + 1.0f;  // lanes whose exp is 0
  V c = x > lo ? x : lo;                       // NaN lanes become lo here...
  c = c < hi ? c : hi;
  constexpr float kRound = 12582912.0f;
  V n = (c * 1.44269504088896341f + kRound) - kRound;
  V r = c - n * 0.693359375f + n * 2.12194440e-4f;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  V e = p * r * r + r + 1.0f;
  I bits = (__builtin_convertvector(n, I) + 127) << 23;
  V scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  V y = e * scale * under;
  return x == x ? y : x;  // ...and NaN again here
}

// v ← exp(v − max), returning the sum.
FGRPO_INLINE float ExpShiftSum(float* v, int64_t n, float max) {
  using V = Lanes<float>::V;
  constexpr int N = Lanes<float>::kN;
  V acc = V{};
  int64_t j = 0;
  for (; j + N <= n; j += N) {
    V e = ExpLanes(LoadLanes(v + j) - max);
    StoreLanes(v + j, e);
    acc += e;
  }
  float sum = SumLanes<float>(acc);
  for (; j < n; ++j) {
    v[j] = Exp(v[j] - max);
    sum += v[j];
  }
  return sum;
}
FGRPO_INLINE double ExpShiftSum(double* v, int64_t n, double max) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    v[j] = Exp(v[j] - max);
    sum += v[j];
  }
  return sum;
}

// a·b over n, in two registers of partial sums.
template <typename T>
FGRPO_INLINE T Dot(const T* a, const T* b, int64_t n) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::kN;
  V acc0 = V{}, acc1 = V{};
  int64_t j = 0;
  for (; j + 2 * N <= n; j += 2 * N) {
    acc0 += LoadLanes(a + j) * LoadLanes(b + j);
    acc1 += LoadLanes(a + j + N) * LoadLanes(b + j + N);
  }
  for (; j + N <= n; j += N) acc0 += LoadLanes(a + j) * LoadLanes(b + j);
  T dot = SumLanes<T>(acc0 + acc1);
  for (; j < n; ++j) dot += a[j] * b[j];
  return dot;
}

// How many leading keys query i of `queries` sees under causal masking aligned to the end of
// `keys` (the queries are the last ones): keys j ≤ i + keys − queries.
FGRPO_INLINE int64_t CausalVisible(int64_t i, int64_t queries, int64_t keys) {
  int64_t last = i + keys - queries;
  return last < 0 ? 0 : (last + 1 < keys ? last + 1 : keys);
}

// row[0, n) ← softmax(row[0, n)) in place. Returns false, leaving row as it is, when every
// entry is −∞ (nothing visible), where softmax is NaN.
template <typename T>
FGRPO_INLINE bool SoftmaxInPlace(T* row, int64_t n) {
  T max = RowMax(row, n);
  if (max == -std::numeric_limits<T>::infinity()) return false;
  T inv = T(1) / ExpShiftSum(row, n, max);
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  return true;
}

// ---------------------------------------------------------------------------------------------
// elementwise

void GeluTanhForward(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * GeluGate(x[i]);
}

// d/dx x·σ(2u) = σ + x·σ(1−σ)·2u',  u' = √(2/π)·(1 + 3·0.044715·x²)
void GeluTanhBackward(const float* x, const float* g, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float xi = x[i], s = GeluGate(xi);
    float du = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kCubic * xi * xi);
    dx[i] = g[i] * (s + xi * s * (1.0f - s) * du);
  }
}

void SiluMulForward(const float* g, int64_t ldg, const float* u, int64_t ldu, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, g += ldg, u += ldu, y += cols) {
    for (int64_t i = 0; i < cols; ++i) y[i] = g[i] * u[i] * Sigmoid(g[i]);
  }
}

void SiluMulBackward(const float* g, const float* u, const float* dy, float* dg, float* du, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float x = g[i], s = Sigmoid(x);
    dg[i] = dy[i] * u[i] * s * (1.0f + x * (1.0f - s));
    du[i] = dy[i] * x * s;
  }
}

// ---------------------------------------------------------------------------------------------
// softmax rows (attention from 16 queries up)

template <typename T>
FGRPO_INLINE void MaskedSoftmaxRowsImpl(T* s, int64_t rows, int64_t n, T scale, const T* additive, int64_t additiveRowStride, bool causal) {
  for (int64_t i = 0; i < rows; ++i) {
    T* row = s + i * n;
    int64_t visible = causal ? CausalVisible(i, rows, n) : n;
    if (additive) {
      const T* add = additive + i * additiveRowStride;
      for (int64_t j = 0; j < visible; ++j) row[j] = row[j] * scale + add[j];
    } else {
      for (int64_t j = 0; j < visible; ++j) row[j] *= scale;
    }
    if (!SoftmaxInPlace(row, visible)) {  // nothing visible: NaN, as softmax over all −∞
      for (int64_t j = 0; j < n; ++j) row[j] = std::numeric_limits<T>::quiet_NaN();
      continue;
    }
    for (int64_t j = visible; j < n; ++j) row[j] = 0;
  }
}

template <typename T>
FGRPO_INLINE void SoftmaxBackwardRowsImpl(const T* p, T* dp, int64_t rows, int64_t n, T scale) {
  for (int64_t r = 0; r < rows; ++r, p += n, dp += n) {
    T dot = Dot(dp, p, n);
    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot) * scale;
  }
}

void MaskedSoftmaxRows(float* s, int64_t rows, int64_t n, float scale, const float* additive, int64_t additiveRowStride, bool causal) {
  MaskedSoftmaxRowsImpl(s, rows, n, scale, additive, additiveRowStride, causal);
}
void MaskedSoftmaxRows(double* s, int64_t rows, int64_t n, double scale, const double* additive, int64_t additiveRowStride, bool causal) {
  MaskedSoftmaxRowsImpl(s, rows, n, scale, additive, additiveRowStride, causal);
}
void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n, float scale) { SoftmaxBackwardRowsImpl(p, dp, rows, n, scale); }
void SoftmaxBackwardRows(const double* p, double* dp, int64_t rows, int64_t n, double scale) { SoftmaxBackwardRowsImpl(p, dp, rows, n, scale); }

// ---------------------------------------------------------------------------------------------
// decoding attention, one query row at a time

template <typename T>
FGRPO_INLINE void AttentionRowsForwardImpl(const View4<const T>& q, const View4<const T>& k, const View4<const T>& v, const View4<T>& out,
                                           const View4<const bool>* allowed, const View4<const T>* additive, const AttentionDims& dims, T scale,
                                           bool causal) {
  const T ninf = -std::numeric_limits<T>::infinity();
  const int64_t tk = dims.keys;
  std::vector<T> scores(static_cast<size_t>(tk));
  T* p = scores.data();
  for (int64_t b = 0; b < dims.batch; ++b) {
    for (int64_t h = 0; h < dims.heads; ++h) {
      for (int64_t i = 0; i < dims.queries; ++i) {
        const T* qi = q.at(b, h, i);
        int64_t visible = causal ? CausalVisible(i, dims.queries, tk) : tk;
        for (int64_t j = 0; j < visible; ++j) p[j] = Dot(qi, k.at(b, h, j), dims.dim) * scale;
        for (int64_t j = visible; j < tk; ++j) p[j] = ninf;
        if (allowed) {
          const bool* m = allowed->at(b, h, i);
          for (int64_t j = 0; j < tk; ++j) p[j] = m[j * allowed->stride[3]] ? p[j] : ninf;
        }
        if (additive) {
          const T* a = additive->at(b, h, i);
          for (int64_t j = 0; j < tk; ++j) p[j] += a[j * additive->stride[3]];
        }
        T* o = out.at(b, h, i);
        if (!SoftmaxInPlace(p, tk)) {  // nothing visible: NaN, as softmax over all −∞
          for (int64_t d = 0; d < dims.valueDim; ++d) o[d] = std::numeric_limits<T>::quiet_NaN();
          continue;
        }
        for (int64_t d = 0; d < dims.valueDim; ++d) o[d] = 0;
        for (int64_t j = 0; j < tk; ++j) {
          if (p[j] == T(0)) continue;
          const T* vj = v.at(b, h, j);
          const T w = p[j];  // a local: o could alias p, which would reload it every iteration
          for (int64_t d = 0; d < dims.valueDim; ++d) o[d] += w * vj[d];
        }
      }
    }
  }
}

void AttentionRowsForward(const View4<const float>& q, const View4<const float>& k, const View4<const float>& v, const View4<float>& out,
                          const View4<const bool>* allowed, const View4<const float>* additive, const AttentionDims& dims, float scale, bool causal) {
  AttentionRowsForwardImpl(q, k, v, out, allowed, additive, dims, scale, causal);
}
void AttentionRowsForward(const View4<const double>& q, const View4<const double>& k, const View4<const double>& v, const View4<double>& out,
                          const View4<const bool>* allowed, const View4<const double>* additive, const AttentionDims& dims, double scale,
                          bool causal) {
  AttentionRowsForwardImpl(q, k, v, out, allowed, additive, dims, scale, causal);
}

// ---------------------------------------------------------------------------------------------
// decoding attention over a shared prompt prefix

// s[r, j] = scale · q_r · k_j for rows × keys, with the keys transposed (kt[d·ldk + j]): a
// block of R rows × C registers of keys, so there are no horizontal sums and each key load
// serves R rows.
template <typename T, int R, int C>
FGRPO_INLINE void KeyScoresBlock(const T* const* q, const T* kt, int64_t ldk, int64_t dim, T scale, T* s, int64_t lds) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::kN;
  V acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = V{};
  }
  for (int64_t d = 0; d < dim; ++d) {
    // One stream per head dimension, ldk apart: more than the hardware prefetchers follow.
    __builtin_prefetch(kt + d * ldk + 2 * C * N);
    V k[C];
    for (int c = 0; c < C; ++c) k[c] = LoadLanes(kt + d * ldk + c * N);
    for (int r = 0; r < R; ++r) {
      const T qd = q[r][d];
      for (int c = 0; c < C; ++c) acc[r][c] += qd * k[c];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) StoreLanes(s + r * lds + c * N, acc[r][c] * scale);
  }
}

template <typename T>
FGRPO_INLINE void TransposedKeyScores(const T* const* q, int64_t rows, const T* kt, int64_t ldk, int64_t keys, int64_t dim, T scale, T* s,
                                      int64_t lds) {
  constexpr int64_t kBlock = kTileVecs * Lanes<T>::kN;
  int64_t j = 0;
  for (; j + kBlock <= keys; j += kBlock) {
    int64_t r = 0;
    for (; r + kTileRows <= rows; r += kTileRows) KeyScoresBlock<T, kTileRows, kTileVecs>(q + r, kt + j, ldk, dim, scale, s + r * lds + j, lds);
    for (; r < rows; ++r) KeyScoresBlock<T, 1, kTileVecs>(q + r, kt + j, ldk, dim, scale, s + r * lds + j, lds);
  }
  for (; j < keys; ++j) {
    for (int64_t r = 0; r < rows; ++r) {
      T a = 0;
      for (int64_t d = 0; d < dim; ++d) a += q[r][d] * kt[d * ldk + j];
      s[r * lds + j] = a * scale;
    }
  }
}

// acc[r, :] = Σ_j p[r, j] · v_j over a block of R rows × C registers of value columns
// (v_j = v + j·ldv, contiguous), the sums held in registers.
template <typename T, int R, int C>
FGRPO_INLINE void WeightedValuesBlock(const T* p, int64_t ldp, const T* v, int64_t ldv, int64_t keys, T* acc, int64_t lda) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::kN;
  V a[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) a[r][c] = V{};
  }
  for (int64_t j = 0; j < keys; ++j) {
    V x[C];
    for (int c = 0; c < C; ++c) x[c] = LoadLanes(v + j * ldv + c * N);
    for (int r = 0; r < R; ++r) {
      const T w = p[r * ldp + j];
      for (int c = 0; c < C; ++c) a[r][c] += w * x[c];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) StoreLanes(acc + r * lda + c * N, a[r][c]);
  }
}

template <typename T>
FGRPO_INLINE void WeightedValues(const T* p, int64_t ldp, int64_t rows, const T* v, int64_t ldv, int64_t keys, int64_t dv, T* acc) {
  constexpr int64_t kBlock = kTileVecs * Lanes<T>::kN;
  int64_t c = 0;
  for (; c + kBlock <= dv; c += kBlock) {
    int64_t r = 0;
    for (; r + kTileRows <= rows; r += kTileRows) WeightedValuesBlock<T, kTileRows, kTileVecs>(p + r * ldp, ldp, v + c, ldv, keys, acc + r * dv + c, dv);
    for (; r < rows; ++r) WeightedValuesBlock<T, 1, kTileVecs>(p + r * ldp, ldp, v + c, ldv, keys, acc + r * dv + c, dv);
  }
  for (; c < dv; ++c) {
    for (int64_t r = 0; r < rows; ++r) {
      T a = 0;
      for (int64_t j = 0; j < keys; ++j) a += p[r * ldp + j] * v[j * ldv + c];
      acc[r * dv + c] = a;
    }
  }
}

template <typename T>
FGRPO_INLINE void PrefixAttentionForwardImpl(const View4<const T>& q, const View4<const T>& pk, const View4<const T>& pv, const bool* allowed,
                                             const View4<const T>& sk, const View4<const T>& sv, const View4<T>& out,
                                             const PrefixAttentionDims& dims, T scale) {
  const T ninf = -std::numeric_limits<T>::infinity();
  const int64_t group = dims.batch / dims.prompts, rep = dims.heads / dims.kvHeads, tq = dims.queries;
  const int64_t lp = dims.prefixKeys, ls = dims.suffixKeys, n = lp + ls, dv = dims.valueDim;
  // The rows of one (prompt, key head): every query of every query head of every rollout, row
  // r being rollout r / (rep·tq), head r / tq % rep, query r % tq.
  const int64_t rows = group * rep * tq;
  std::vector<T> scores(static_cast<size_t>(rows * n)), acc(static_cast<size_t>(rows * dv));
  std::vector<const T*> qrows(static_cast<size_t>(rows));
  auto batchOf = [&](int64_t p, int64_t r) { return p * group + r / (rep * tq); };
  auto headOf = [&](int64_t hk, int64_t r) { return hk * rep + r / tq % rep; };
  for (int64_t p = 0; p < dims.prompts; ++p) {
    const bool* visibleKey = allowed ? allowed + p * lp : nullptr;
    for (int64_t hk = 0; hk < dims.kvHeads; ++hk) {
      for (int64_t r = 0; r < rows; ++r) qrows[r] = q.at(batchOf(p, r), headOf(hk, r), r % tq);
      TransposedKeyScores(qrows.data(), rows, pk.at(p, hk, 0), pk.stride[3], lp, dims.dim, scale, scores.data(), n);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = batchOf(p, r), i = r % tq;
        T* s = scores.data() + r * n;
        if (visibleKey) {
          for (int64_t j = 0; j < lp; ++j) s[j] = visibleKey[j] ? s[j] : ninf;
        }
        const int64_t visible = CausalVisible(i, tq, ls);
        for (int64_t j = 0; j < visible; ++j) s[lp + j] = Dot(qrows[r], sk.at(b, hk, j), dims.dim) * scale;
        for (int64_t j = visible; j < ls; ++j) s[lp + j] = ninf;
        if (!SoftmaxInPlace(s, n)) {  // nothing visible: NaN, as softmax over all −∞
          for (int64_t j = 0; j < n; ++j) s[j] = std::numeric_limits<T>::quiet_NaN();
        }
      }
      WeightedValues(scores.data(), n, rows, pv.at(p, hk, 0), pv.stride[2], lp, dv, acc.data());
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = batchOf(p, r);
        const T* s = scores.data() + r * n + lp;
        T* a = acc.data() + r * dv;
        for (int64_t j = 0; j < ls; ++j) {
          const T w = s[j];
          if (w == T(0)) continue;
          const T* vj = sv.at(b, hk, j);
          for (int64_t d = 0; d < dv; ++d) a[d] += w * vj[d];
        }
        T* o = out.at(b, headOf(hk, r), r % tq);
        for (int64_t d = 0; d < dv; ++d) o[d] = a[d];
      }
    }
  }
}

void PrefixAttentionForward(const View4<const float>& q, const View4<const float>& prefixK, const View4<const float>& prefixV,
                            const bool* prefixAllowed, const View4<const float>& suffixK, const View4<const float>& suffixV,
                            const View4<float>& out, const PrefixAttentionDims& dims, float scale) {
  PrefixAttentionForwardImpl(q, prefixK, prefixV, prefixAllowed, suffixK, suffixV, out, dims, scale);
}
void PrefixAttentionForward(const View4<const double>& q, const View4<const double>& prefixK, const View4<const double>& prefixV,
                            const bool* prefixAllowed, const View4<const double>& suffixK, const View4<const double>& suffixV,
                            const View4<double>& out, const PrefixAttentionDims& dims, double scale) {
  PrefixAttentionForwardImpl(q, prefixK, prefixV, prefixAllowed, suffixK, suffixV, out, dims, scale);
}

// ---------------------------------------------------------------------------------------------
// RMSNorm

template <typename T>
FGRPO_INLINE void RmsNormForwardImpl(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t d, T eps) {
  for (int64_t r = 0; r < rows; ++r, x += d, y += d) {
    T rs = T(1) / __builtin_sqrt(Dot(x, x, d) / T(d) + eps);
    rstd[r] = rs;
    if (w) {
      for (int64_t j = 0; j < d; ++j) y[j] = x[j] * rs * w[j];
    } else {
      for (int64_t j = 0; j < d; ++j) y[j] = x[j] * rs;
    }
  }
}

template <typename T>
FGRPO_INLINE void RmsNormBackwardImpl(const T* x, const T* w, const T* rstd, const T* g, T* dx, double* dw, int64_t rows, int64_t d) {
  constexpr int L = kPartials<T>;
  for (int64_t r = 0; r < rows; ++r, x += d, g += d, dx += d) {
    const T rs = rstd[r];
    T gwx = 0;
    if (w) {
      T lanes[L] = {};
      int64_t j = 0;
      for (; j + L <= d; j += L) {
        for (int l = 0; l < L; ++l) lanes[l] += g[j + l] * w[j + l] * x[j + l];
      }
      for (int l = 0; l < L; ++l) gwx += lanes[l];
      for (; j < d; ++j) gwx += g[j] * w[j] * x[j];
    } else {
      gwx = Dot(g, x, d);
    }
    const T c = rs * rs * rs * gwx / T(d);
    if (w) {
      for (int64_t j = 0; j < d; ++j) dx[j] = rs * g[j] * w[j] - x[j] * c;
    } else {
      for (int64_t j = 0; j < d; ++j) dx[j] = rs * g[j] - x[j] * c;
    }
    if (dw) {
      for (int64_t j = 0; j < d; ++j) dw[j] += static_cast<double>(g[j] * x[j] * rs);
    }
  }
}

void RmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t d, float eps) {
  RmsNormForwardImpl(x, w, y, rstd, rows, d, eps);
}
void RmsNormForward(const double* x, const double* w, double* y, double* rstd, int64_t rows, int64_t d, double eps) {
  RmsNormForwardImpl(x, w, y, rstd, rows, d, eps);
}
void RmsNormBackward(const float* x, const float* w, const float* rstd, const float* g, float* dx, double* dw, int64_t rows, int64_t d) {
  RmsNormBackwardImpl(x, w, rstd, g, dx, dw, rows, d);
}
void RmsNormBackward(const double* x, const double* w, const double* rstd, const double* g, double* dx, double* dw, int64_t rows, int64_t d) {
  RmsNormBackwardImpl(x, w, rstd, g, dx, dw, rows, d);
}

// ---------------------------------------------------------------------------------------------
// rotary embedding

template <typename T>
FGRPO_INLINE void RopeImpl(const View4<const T>& x, const View4<const T>& cos, const View4<const T>& sin, const View4<T>& y, const RopeDims& dims,
                           bool interleaved, bool transposed) {
  const int64_t d = dims.dim, half = d / 2;
  for (int64_t b = 0; b < dims.batch; ++b) {
    for (int64_t h = 0; h < dims.heads; ++h) {
      for (int64_t t = 0; t < dims.tokens; ++t) {
        const T *xi = x.at(b, h, t), *c = cos.at(b, h, t), *s = sin.at(b, h, t);
        T* yi = y.at(b, h, t);
        if (interleaved) {
          for (int64_t j = 0; j < d; j += 2) {
            T s0 = transposed ? s[j + 1] : s[j], s1 = transposed ? s[j] : s[j + 1];
            yi[j] = xi[j] * c[j] + xi[j + 1] * s0;
            yi[j + 1] = xi[j + 1] * c[j + 1] + xi[j] * s1;
          }
        } else {
          const T* sLow = transposed ? s + half : s;   // sine read for outputs [0, D/2)
          const T* sHigh = transposed ? s : s + half;  // and for [D/2, D)
          for (int64_t j = 0; j < half; ++j) yi[j] = xi[j] * c[j] + xi[j + half] * sLow[j];
          for (int64_t j = 0; j < half; ++j) yi[j + half] = xi[j + half] * c[j + half] + xi[j] * sHigh[j];
        }
      }
    }
  }
}

void Rope(const View4<const float>& x, const View4<const float>& cos, const View4<const float>& sin, const View4<float>& y, const RopeDims& dims,
          bool interleaved, bool transposed) {
  RopeImpl(x, cos, sin, y, dims, interleaved, transposed);
}
void Rope(const View4<const double>& x, const View4<const double>& cos, const View4<const double>& sin, const View4<double>& y, const RopeDims& dims,
          bool interleaved, bool transposed) {
  RopeImpl(x, cos, sin, y, dims, interleaved, transposed);
}

// ---------------------------------------------------------------------------------------------
// skinny matrix product (decoding)

// How many rows ahead the skinny product prefetches its weights (measured best of 4, 8, 16, 32).
constexpr int64_t kSkinnyPrefetch = 16;

// Rows [0, R) × C registers of columns from n0, accumulated in R·C registers.
template <int R, int C>
FGRPO_INLINE void SkinnyBlock(const float* x, int64_t ldx, const float* w, float* y, int64_t n, int64_t k, int64_t n0) {
  using V = Lanes<float>::V;
  constexpr int N = Lanes<float>::kN;
  constexpr int kLines = (C * kVecBytes + 63) / 64;  // cache lines per row of the block
  V acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = V{};
  }
  for (int64_t i = 0; i < k; ++i) {
    // Walking down a column block steps n floats at a time, across pages, where the hardware
    // prefetchers do not follow.
    for (int l = 0; l < kLines; ++l) __builtin_prefetch(w + (i + kSkinnyPrefetch) * n + n0 + l * 16);
    // The weight loads are written per use and merged by the compiler: held in an array, they
    // were also stored to the stack every iteration (GCC 12, AVX-512, 2 rows × 1 register).
    const float* wi = w + i * n + n0;
    for (int r = 0; r < R; ++r) {
      const float xv = x[r * ldx + i];
      for (int c = 0; c < C; ++c) acc[r][c] += xv * LoadLanes(wi + c * N);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) StoreLanes(y + r * n + n0 + c * N, acc[r][c]);
  }
}

// The column registers of a block of R rows: as many as fit beside its R·C accumulators and
// one broadcast of x (AVX2, 4 rows: 4·3 + 3 + 1 = 16 ymm; AVX-512, 8 rows: 8·3 + 3 = 27 zmm).
template <int R>
constexpr int kMatVecs = (kRegisters - 1) / (R + 1) < kMatMaxVecs ? (kRegisters - 1) / (R + 1) : kMatMaxVecs;

template <int R>
FGRPO_INLINE void SkinnyRows(const float* x, int64_t ldx, const float* w, float* y, int64_t n, int64_t k) {
  constexpr int N = Lanes<float>::kN, C = kMatVecs<R>;
  static_assert(R * C + C + 1 <= kRegisters, "the skinny block does not fit the registers");
  int64_t n0 = 0;
  for (; n0 + C * N <= n; n0 += C * N) SkinnyBlock<R, C>(x, ldx, w, y, n, k, n0);
  for (; n0 + N <= n; n0 += N) SkinnyBlock<R, 1>(x, ldx, w, y, n, k, n0);
  for (; n0 < n; ++n0) {  // the last n mod N columns
    for (int r = 0; r < R; ++r) {
      float sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += x[r * ldx + i] * w[i * n + n0];
      y[r * n + n0] = sum;
    }
  }
}

void SkinnyMatmul(const float* x, int64_t ldx, const float* w, float* y, int64_t m, int64_t n, int64_t k) {
  int64_t r = 0;
  for (; r + kMatRows <= m; r += kMatRows) SkinnyRows<kMatRows>(x + r * ldx, ldx, w, y + r * n, n, k);
  if (kMatRows > 4) {
    for (; r + 4 <= m; r += 4) SkinnyRows<4>(x + r * ldx, ldx, w, y + r * n, n, k);
  }
  if (kMatRows > 2) {
    for (; r + 2 <= m; r += 2) SkinnyRows<2>(x + r * ldx, ldx, w, y + r * n, n, k);
  }
  for (; r < m; ++r) SkinnyRows<1>(x + r * ldx, ldx, w, y + r * n, n, k);
}
