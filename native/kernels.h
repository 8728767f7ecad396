// Hand-written CPU loops for the fused operations (kernels.cc), over contiguous memory.
#pragma once

#include <cstdint>

namespace fgrpo::kernels {

// y = x·σ(2u), u = √(2/π)·(x + 0.044715·x³): GELU's tanh form.
void GeluTanhForward(const float* x, float* y, int64_t n);
// dx = g · d/dx gelu(x).
void GeluTanhBackward(const float* x, const float* g, float* dx, int64_t n);

// In place over `rows` rows of length n: s ← softmax(s·scale + additive), where additive (or
// null) has rows `additiveRowStride` apart and contiguous columns, and with causal set row i
// sees only columns j ≤ i + causalOffset. Rows that see nothing become NaN, as with at::softmax.
void MaskedSoftmaxRows(float* s, int64_t rows, int64_t n, float scale, const float* additive, int64_t additiveRowStride, bool causal,
                       int64_t causalOffset);
void MaskedSoftmaxRows(double* s, int64_t rows, int64_t n, double scale, const double* additive, int64_t additiveRowStride, bool causal,
                       int64_t causalOffset);

// In place over dp: dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, both contiguous [rows, n].
void SoftmaxBackwardRows(const float* p, float* dp, int64_t rows, int64_t n, float scale);
void SoftmaxBackwardRows(const double* p, double* dp, int64_t rows, int64_t n, double scale);

}  // namespace fgrpo::kernels
