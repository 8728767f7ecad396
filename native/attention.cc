// Scaled dot-product attention. libtorch 2.1+ has a fused kernel (at::scaled_dot_product_attention);
// for older libtorch (Debian's 1.13) attention is one autograd node written here.
//
// Why not at::matmul + softmax: its matrix products are many small ones (one per batch and head).
// Batched, they copied the strided q/k/v views into contiguous buffers first (6 ms of a 200 ms
// reference train step) and let OpenBLAS split each small product across threads, which ran it
// at half speed (13 ms vs 9 ms forward+backward for [8, 4, 128, 64]). Here each (batch, head)
// slice is multiplied in place through strided views with single-threaded BLAS, and the slices
// are shared among as many threads as BLAS was allowed.
#include "common.h"

#include <ATen/ThreadLocalState.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <exception>
#include <limits>
#include <thread>
#include <vector>

namespace fgrpo {

#if !(TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1))

namespace {

// Holds BLAS at one thread for its lifetime and remembers how many it had.
class BlasSingleThread {
 public:
  BlasSingleThread() : previous_(BlasThreads()) {
    if (previous_ > 1) SetBlasThreads(1);
  }
  ~BlasSingleThread() {
    if (previous_ > 1) SetBlasThreads(previous_);
  }
  // The thread count BLAS had before, at least 1.
  int previous() const { return previous_ > 1 ? previous_ : 1; }

 private:
  int previous_;
};

// Runs body(begin, end) over [0, n) in `threads` contiguous parts, the caller taking the first.
// Workers see the caller's thread-local state (grad mode, dispatch keys); their exceptions are
// rethrown here.
template <typename Body>
void ParallelSlices(int64_t n, int threads, const Body& body) {
  threads = static_cast<int>(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    body(0, n);
    return;
  }
  at::ThreadLocalState state;
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> workers;
  auto part = [&](int i) {
    try {
      at::ThreadLocalStateGuard guard(state);
      body(n * i / threads, n * (i + 1) / threads);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  for (int i = 1; i < threads; ++i) workers.emplace_back(part, i);
  part(0);
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

// The (b, h) slice of a [B, H, ...] tensor, as a strided view.
inline at::Tensor Slice(const at::Tensor& t, int64_t i, int64_t heads) { return t.select(0, i / heads).select(0, i % heads); }

// Below this many queries (decoding: one) per-slice calls cost more than they save, and the
// products run batched.
constexpr int64_t kMinSlicedQueries = 16;

// Whether the per-slice path serves these queries: CPU, float32 or float64, enough of them.
bool Sliced(const at::Tensor& q) {
  return kernels::Enabled() && CpuFloating(q) && q.size(2) >= kMinSlicedQueries;
}

// softmax(Q·Kᵀ·scale + mask)·V with the usual gradients:
//   dV = Pᵀ·dO;  dP = dO·Vᵀ;  dS = P ⊙ (dP − rowsum(dP ⊙ P));  dQ = dS·K·scale;  dK = dSᵀ·Q·scale.
// Masked scores are −∞, so P and dS are 0 there. q, k, v: [B, H, T, D] with equal B and H
// (broadcast heads as expanded views); mask: empty, bool (true = attend) or additive, broadcastable
// to [B, H, Tq, Tk].
class SlicedAttention : public torch::autograd::Function<SlicedAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& mask, bool causal, double scale) {
    BlasSingleThread single;
    const int64_t batch = q.size(0), heads = q.size(1), tq = q.size(2), tk = k.size(2), dv = v.size(3);
    const double ninf = -std::numeric_limits<double>::infinity();
    at::Tensor additive;  // [B, H, Tq, Tk] view, or undefined
    if (mask.numel() > 0) {
      additive = mask.scalar_type() == at::kBool ? at::zeros(mask.sizes(), q.options()).masked_fill_(mask.logical_not(), ninf) : mask.to(q.scalar_type());
      additive = additive.expand({batch, heads, tq, tk});
    }
    ctx->saved_data["scale"] = scale;
    if (!Sliced(q)) {
      at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul_(scale);
      if (causal) scores.masked_fill_(at::ones({tq, tk}, q.options().dtype(at::kBool)).triu(tk - tq + 1), ninf);
      if (additive.defined()) scores.add_(additive);
      at::Tensor p = at::softmax(scores, -1);
      ctx->save_for_backward({q, k, v, p});
      return at::matmul(p, v);
    }
    at::Tensor p = at::empty({batch, heads, tq, tk}, q.options());
    // The output is laid out [B, Tq, H, Dv] so that the usual transpose(1, 2).reshape(B, Tq, H·Dv)
    // that follows attention is free.
    at::Tensor out = at::empty({batch, tq, heads, dv}, q.options()).permute({0, 2, 1, 3});
    ParallelSlices(batch * heads, single.previous(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        at::Tensor s = Slice(p, i, heads);
        at::mm_out(s, Slice(q, i, heads), Slice(k, i, heads).t());
        at::Tensor add = additive.defined() ? LastDimContiguous(Slice(additive, i, heads)) : at::Tensor();
        AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "attention_softmax", [&] {
          kernels::MaskedSoftmaxRows(s.data_ptr<scalar_t>(), tq, tk, static_cast<scalar_t>(scale), add.defined() ? add.data_ptr<scalar_t>() : nullptr,
                                     add.defined() ? add.stride(0) : 0, causal);
        });
        at::Tensor o = Slice(out, i, heads);
        at::mm_out(o, s, Slice(v, i, heads));
      }
    });
    ctx->save_for_backward({q, k, v, p});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3];
    double scale = ctx->saved_data["scale"].toDouble();
    const at::Tensor& dout = grads[0];
    const int64_t heads = q.size(1), tq = q.size(2), tk = k.size(2);
    // A double backward (create_graph) needs the differentiable form.
    if (!Sliced(q) || at::GradMode::is_enabled()) return BatchedBackward(q, k, v, p, dout, scale);
    BlasSingleThread single;
    at::Tensor dq = at::empty(q.sizes(), q.options()), dk = at::empty(k.sizes(), k.options()), dv = at::empty(v.sizes(), v.options());
    ParallelSlices(q.size(0) * heads, single.previous(), [&](int64_t begin, int64_t end) {
      at::Tensor ds = at::empty({tq, tk}, q.options());
      for (int64_t i = begin; i < end; ++i) {
        at::Tensor pi = Slice(p, i, heads), doi = Slice(dout, i, heads);
        at::Tensor dvi = Slice(dv, i, heads), dqi = Slice(dq, i, heads), dki = Slice(dk, i, heads);
        at::mm_out(dvi, pi.t(), doi);
        at::mm_out(ds, doi, Slice(v, i, heads).t());
        AT_DISPATCH_FLOATING_TYPES(ds.scalar_type(), "attention_backward", [&] {
          kernels::SoftmaxBackwardRows(pi.data_ptr<scalar_t>(), ds.data_ptr<scalar_t>(), tq, tk, static_cast<scalar_t>(scale));
        });
        at::mm_out(dqi, ds, Slice(k, i, heads));
        at::mm_out(dki, ds.t(), Slice(q, i, heads));
      }
    });
    return {dq, dk, dv, at::Tensor(), at::Tensor(), at::Tensor()};
  }

 private:
  static torch::autograd::variable_list BatchedBackward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& p,
                                                        const at::Tensor& dout, double scale) {
    at::Tensor dv = at::matmul(p.transpose(-2, -1), dout);
    at::Tensor dp = at::matmul(dout, v.transpose(-2, -1));
    at::Tensor ds = p * (dp - (dp * p).sum(-1, true)) * scale;
    return {at::matmul(ds, k), at::matmul(ds.transpose(-2, -1), q), dv, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Attention that no gradient will flow through, for a few queries (decoding). Batched, its
// matrix products are B·H tiny ones, which ATen's bmm runs one select() at a time (measured:
// half of a batch-8 decode step of the reference model); a direct loop is a fraction of that.
at::Tensor RowsAttention(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& mask, bool causal, double scale) {
  at::Tensor qc = LastDimContiguous(q);
  k = LastDimContiguous(k);
  v = LastDimContiguous(v);
  const int64_t batch = q.size(0), heads = q.size(1), tq = q.size(2), tk = k.size(2);
  kernels::AttentionDims dims{batch, heads, tq, tk, q.size(3), v.size(3)};
  at::Tensor out = at::empty({batch, tq, heads, v.size(3)}, q.options()).permute({0, 2, 1, 3});
  at::Tensor m = mask.numel() > 0 ? mask.expand({batch, heads, tq, tk}) : mask;
  if (m.numel() > 0 && m.scalar_type() != at::kBool) m = m.to(q.scalar_type());
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "attention_rows", [&] {
    using V = kernels::View4<const scalar_t>;
    kernels::View4<const bool> allowed{};
    V additive{};
    bool isBool = m.numel() > 0 && m.scalar_type() == at::kBool, isAdditive = m.numel() > 0 && !isBool;
    if (isBool) allowed = ViewOf<const bool>(m);
    if (isAdditive) additive = ViewOf<const scalar_t>(m);
    kernels::AttentionRowsForward(ViewOf<const scalar_t>(qc), ViewOf<const scalar_t>(k), ViewOf<const scalar_t>(v), ViewOf<scalar_t>(out),
                                  isBool ? &allowed : nullptr, isAdditive ? &additive : nullptr, dims, static_cast<scalar_t>(scale), causal);
  });
  return out;
}

}  // namespace

#endif

at::Tensor ScaledDotAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask, bool causal,
                              double scale) {
#if TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1)
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal && !mask, scale);
#else
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) throw std::invalid_argument("attention: q, k and v must be [B, H, T, D]");
  // Broadcast batch or head dimensions become expanded views, so every slice exists.
  std::vector<int64_t> bh = at::infer_size({q.size(0), q.size(1)}, at::infer_size({k.size(0), k.size(1)}, {v.size(0), v.size(1)}));
  auto full = [&](const at::Tensor& t) { return t.expand({bh[0], bh[1], t.size(2), t.size(3)}); };
  // An empty tensor stands for "no mask": autograd functions cannot take undefined tensors.
  at::Tensor m = mask ? *mask : at::empty({0}, q.options().dtype(at::kBool));
  bool rows = kernels::Enabled() && !NeedsGrad({q, k, v, m}) && CpuFloating(q) && q.size(2) < kMinSlicedQueries && k.scalar_type() == q.scalar_type() &&
              v.scalar_type() == q.scalar_type();
  if (rows) return RowsAttention(full(q), full(k), full(v), m, causal && !mask, scale);
  return SlicedAttention::apply(full(q), full(k), full(v), m, causal && !mask, scale);
#endif
}

// attention(q, k, v, mask?, causal, scale?) over [B, H, T, D] tensors. mask: boolean (true =
// attend) or additive float mask, broadcastable to [B, H, Tq, Tk].
FGRPO_FN(Attention)
  const at::Tensor& q = ArgTensor(info, 0);
  double scale = ArgIsMissing(info, 5) ? 1.0 / std::sqrt(static_cast<double>(q.size(-1))) : ArgDouble(info, 5);
  return Wrap(info, ScaledDotAttention(q, ArgTensor(info, 1), ArgTensor(info, 2), ArgOptTensor(info, 3), ArgBool(info, 4, false), scale));
FGRPO_END

void RegisterAttention(Napi::Env env, Napi::Object exports) { exports.Set("attention", Napi::Function::New(env, Attention, "attention")); }

}  // namespace fgrpo
