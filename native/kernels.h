// Hand-written CPU loops for the fused operations (kernels.cc), over contiguous memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fgrpo::kernels {

// The instruction sets the kernels are built for (kernels.cc), and "libtorch": no fused kernel,
// every fused operation composed from libtorch calls (the reference the kernels must beat).
enum class Isa { kAvx512, kAvx2, kDefault, kLibtorch };
const char* IsaName(Isa isa);
// Whether this build and CPU can run it (default and libtorch always can).
bool IsaSupported(Isa isa);
Isa BestIsa();
std::vector<Isa> SupportedIsas();
// The set named `name` ("avx512", "avx2", "default", "libtorch"); throws std::invalid_argument
// naming `source` (e.g. FGRPO_ISA) when the name is unknown or the CPU lacks the set.
Isa ParseIsa(const std::string& name, const std::string& source);
// The set in use (at start: BestIsa()), and switching it; the fused operations check Enabled()
// (false under libtorch) before calling a kernel.
Isa ActiveIsa();
void SetIsa(Isa isa);
bool Enabled();

// y = x·σ(2u), u = √(2/π)·(x + 0.044715·x³): GELU's tanh form.
void GeluTanhForward(const float* x, float* y, int64_t n);
// dx = g · d/dx gelu(x).
void GeluTanhBackward(const float* x, const float* g, float* dx, int64_t n);

// y = silu(g)·u = g·σ(g)·u (SwiGLU's product) over [rows, cols], g and u rows ldg and ldu apart
// (e.g. the two halves of one packed projection), y contiguous.
void SiluMulForward(const float* g, int64_t ldg, const float* u, int64_t ldu, float* y, int64_t rows, int64_t cols);
// dg = dy·u·σ(g)·(1 + g·(1 − σ(g))), du = dy·g·σ(g).
void SiluMulBackward(const float* g, const float* u, const float* dy, float* dg, float* du, int64_t n);

// In place over the score matrix s [rows queries, n keys]: s ← softmax(s·scale + additive),
// where additive (or null) has rows `additiveRowStride` apart and contiguous columns, and with
// causal set query i (the queries being the last `rows` positions) sees only keys
// j ≤ i + n − rows. Rows that see nothing become NaN, as with at::softmax.
void MaskedSoftmaxRows(float* s, int64_t rows, int64_t n, float scale, const float* additive, int64_t additiveRowStride, bool causal);
void MaskedSoftmaxRows(double* s, int64_t rows, int64_t n, double scale, const double* additive, int64_t additiveRowStride, bool causal);

// In place over dp: dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, both contiguous [rows, n].
void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n, float scale);
void SoftmaxBackwardRows(const double* p, double* dp, int64_t rows, int64_t n, double scale);

// RMSNorm over rows of length d: y = x·rstd·w, rstd = 1/√(mean(x²) + eps); w may be null.
// rstd (one per row) is written for the backward.
void RmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t d, float eps);
void RmsNormForward(const double* x, const double* w, double* y, double* rstd, int64_t rows, int64_t d, double eps);
// dx = rstd·(g·w) − x·rstd³·mean(g·w·x); dw (when not null) += Σ_rows g·x·rstd.
void RmsNormBackward(const float* x, const float* w, const float* rstd, const float* g, float* dx, double* dw, int64_t rows, int64_t d);
void RmsNormBackward(const double* x, const double* w, const double* rstd, const double* g, double* dx, double* dw, int64_t rows, int64_t d);

// y[M, N] = x[M, K] · w[K, N] for few rows (decoding), w and y contiguous, x rows `ldx` apart.
// Register-blocked per instruction set (AVX-512 8 rows × 48 columns, AVX2 4 × 24, SSE 4 × 8);
// OpenBLAS spends most of such a product packing (measured for 8 × 256 → 1408: 135 µs against
// 53 µs here).
void SkinnyMatmul(const float* x, int64_t ldx, const float* w, float* y, int64_t m, int64_t n, int64_t k);

// A view of a 4-D tensor: its data and strides, in elements.
template <typename T>
struct View4 {
  T* data;
  int64_t stride[4];
  T* at(int64_t a, int64_t b, int64_t c) const { return data + a * stride[0] + b * stride[1] + c * stride[2]; }
};

// Attention without autograd, for a few queries at a time (decoding): for each batch row b,
// head h and query i, out[b,h,i] = softmax(q·kᵀ·scale + mask)·v, one query row at a time. The
// last dimension of q, k, v and out is contiguous. Masks: `allowed` (bool, true = attend) or
// `additive`, either null, broadcast to [B, H, Tq, Tk] by their strides; causal: query i sees
// keys j ≤ i + Tk − Tq.
struct AttentionDims {
  int64_t batch, heads, queries, keys, dim, valueDim;
};
void AttentionRowsForward(const View4<const float>& q, const View4<const float>& k, const View4<const float>& v, const View4<float>& out,
                          const View4<const bool>* allowed, const View4<const float>* additive, const AttentionDims& dims, float scale,
                          bool causal);
void AttentionRowsForward(const View4<const double>& q, const View4<const double>& k, const View4<const double>& v, const View4<double>& out,
                          const View4<const bool>* allowed, const View4<const double>* additive, const AttentionDims& dims, double scale,
                          bool causal);

// Decoding attention over a prompt prefix shared by groups of rows (G rollouts of one prompt):
// batch row b attends to prefix row b / (batch / prompts), masked by prefixAllowed (a contiguous
// [prompts, prefixKeys] bool matrix, or null), then to its own suffix keys, causally aligned to
// the suffix's end (query i sees suffix keys s ≤ i + suffixKeys − queries). Query head h reads
// key head h / (heads / kvHeads). The prefix keys must be transposed in memory (the key axis
// contiguous: stride[2] = 1): their scores are then plain vector products, 16 keys at a time,
// with no horizontal sums, and each prefix key is read once per group and key head instead of
// once per row and query head. Other last dimensions are contiguous.
struct PrefixAttentionDims {
  int64_t batch, prompts, heads, kvHeads, queries, prefixKeys, suffixKeys, dim, valueDim;
};
void PrefixAttentionForward(const View4<const float>& q, const View4<const float>& prefixK, const View4<const float>& prefixV,
                            const bool* prefixAllowed, const View4<const float>& suffixK, const View4<const float>& suffixV,
                            const View4<float>& out, const PrefixAttentionDims& dims, float scale);
void PrefixAttentionForward(const View4<const double>& q, const View4<const double>& prefixK, const View4<const double>& prefixV,
                            const bool* prefixAllowed, const View4<const double>& suffixK, const View4<const double>& suffixV,
                            const View4<double>& out, const PrefixAttentionDims& dims, double scale);

// Rotary embedding over [B, H, T, D] views with last dimensions contiguous, tables broadcast
// by their strides: y_i = x_i·cos_i + x_p(i)·sin_i, where p pairs i with i ± D/2 (rotate-half)
// or i ^ 1 (interleaved). p is an involution, so the gradient is the same loop with the sine
// read at p(i): dx_i = g_i·cos_i + g_p(i)·sin_p(i) (transposed = true).
struct RopeDims {
  int64_t batch, heads, tokens, dim;
};
void Rope(const View4<const float>& x, const View4<const float>& cos, const View4<const float>& sin, const View4<float>& y, const RopeDims& dims,
          bool interleaved, bool transposed);
void Rope(const View4<const double>& x, const View4<const double>& cos, const View4<const double>& sin, const View4<double>& y,
          const RopeDims& dims, bool interleaved, bool transposed);

}  // namespace fgrpo::kernels
