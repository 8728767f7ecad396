// Attention over a prompt prefix shared by G rollouts, for decoding them from one prompt cache.
//
// Copying a prompt's cache to its G rollouts and attending row by row reads every prompt key G
// times per layer and step; with a 512-token prompt that was most of a G = 8 decode step's
// attention (190 µs per layer of the reference model). The kernel reads each prompt key once
// per group (kernels.h: PrefixAttentionForward). Where it does not apply (autograd, other
// devices or dtypes) the same result is composed from plain attention over the expanded keys.
#include "common.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace fgrpo {

namespace {

struct PrefixShapes {
  int64_t batch, prompts, heads, kvHeads, queries, prefixKeys, suffixKeys;
};

PrefixShapes CheckShapes(const at::Tensor& q, const at::Tensor& pk, const at::Tensor& pv, const c10::optional<at::Tensor>& mask,
                         const at::Tensor& sk, const at::Tensor& sv) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("prefixAttention: " + what); };
  if (q.dim() != 4 || pk.dim() != 4 || pv.dim() != 4 || sk.dim() != 4 || sv.dim() != 4) fail("q, prefix and suffix keys/values must be 4-D [B, H, T, D]");
  PrefixShapes s{q.size(0), pk.size(0), q.size(1), pk.size(1), q.size(2), pk.size(2), sk.size(2)};
  if (s.prompts < 1 || s.batch % s.prompts != 0) fail("the batch (" + std::to_string(s.batch) + ") is not a multiple of the prompts (" + std::to_string(s.prompts) + ")");
  if (s.kvHeads < 1 || s.heads % s.kvHeads != 0) fail("the query heads (" + std::to_string(s.heads) + ") are not a multiple of the key heads (" + std::to_string(s.kvHeads) + ")");
  if (pv.size(0) != s.prompts || pv.size(1) != s.kvHeads || pv.size(2) != s.prefixKeys) fail("prefix values must be [P, Hkv, Lp, Dv] like the prefix keys");
  if (sk.size(0) != s.batch || sk.size(1) != s.kvHeads || sv.size(0) != s.batch || sv.size(1) != s.kvHeads || sv.size(2) != s.suffixKeys)
    fail("suffix keys/values must be [B, Hkv, Ls, ·] with q's batch and the prefix's key heads");
  if (pk.size(3) != q.size(3) || sk.size(3) != q.size(3) || sv.size(3) != pv.size(3)) fail("head dimensions differ between q, keys and values");
  if (s.suffixKeys < s.queries) fail("the suffix must hold the queries' own keys (" + std::to_string(s.queries) + "), it has " + std::to_string(s.suffixKeys));
  if (mask && (mask->scalar_type() != at::kBool || mask->dim() != 2 || mask->size(0) != s.prompts || mask->size(1) != s.prefixKeys))
    fail("the prefix mask must be a bool [P, Lp] tensor");
  return s;
}

// The reference form: every row gets its own copy of its prompt's keys, with heads repeated for
// grouped-query attention, and one mask over [prefix | suffix].
at::Tensor Composed(const at::Tensor& q, const at::Tensor& pk, const at::Tensor& pv, const c10::optional<at::Tensor>& mask, const at::Tensor& sk,
                    const at::Tensor& sv, const PrefixShapes& s, double scale) {
  const int64_t group = s.batch / s.prompts, rep = s.heads / s.kvHeads;
  auto keysOf = [&](const at::Tensor& prefix, const at::Tensor& suffix) {
    return at::cat({prefix.repeat_interleave(group, 0), suffix}, 2).repeat_interleave(rep, 1);
  };
  auto boolOptions = q.options().dtype(at::kBool);
  at::Tensor prefixMask = mask ? mask->to(q.device()).repeat_interleave(group, 0).view({s.batch, 1, 1, s.prefixKeys})
                               : at::ones({s.batch, 1, 1, s.prefixKeys}, boolOptions);
  at::Tensor causal = at::ones({s.queries, s.suffixKeys}, boolOptions).tril(s.suffixKeys - s.queries).view({1, 1, s.queries, s.suffixKeys});
  at::Tensor full = at::cat({prefixMask.expand({s.batch, 1, s.queries, s.prefixKeys}), causal.expand({s.batch, 1, s.queries, s.suffixKeys})}, 3);
  return ScaledDotAttention(q, keysOf(pk, sk), keysOf(pv, sv), full, false, scale);
}

at::Tensor Fused(const at::Tensor& q, at::Tensor pk, at::Tensor pv, const c10::optional<at::Tensor>& mask, at::Tensor sk, at::Tensor sv,
                 const PrefixShapes& s, double scale) {
  at::Tensor qc = LastDimContiguous(q);
  // The kernel reads prefix keys transposed; a cache that keeps them so pays no copy here.
  if (pk.stride(2) != 1) pk = pk.transpose(2, 3).contiguous().transpose(2, 3);
  pv = LastDimContiguous(pv);
  sk = LastDimContiguous(sk);
  sv = LastDimContiguous(sv);
  at::Tensor allowed = mask ? mask->contiguous() : at::Tensor();
  const int64_t dv = pv.size(3);
  kernels::PrefixAttentionDims dims{s.batch, s.prompts, s.heads, s.kvHeads, s.queries, s.prefixKeys, s.suffixKeys, q.size(3), dv};
  // Laid out [B, Tq, H, Dv] like the other attention paths, so the reshape that follows is free.
  at::Tensor out = at::empty({s.batch, s.queries, s.heads, dv}, q.options()).permute({0, 2, 1, 3});
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "prefix_attention", [&] {
    kernels::PrefixAttentionForward(ViewOf<const scalar_t>(qc), ViewOf<const scalar_t>(pk), ViewOf<const scalar_t>(pv),
                                    allowed.defined() ? allowed.data_ptr<bool>() : nullptr, ViewOf<const scalar_t>(sk), ViewOf<const scalar_t>(sv),
                                    ViewOf<scalar_t>(out), dims, static_cast<scalar_t>(scale));
  });
  return out;
}

}  // namespace

// prefixAttention(q, prefixK, prefixV, prefixMask?, suffixK, suffixV, scale?): q [B, H, Tq, D];
// prefix keys/values [P, Hkv, Lp, D] (B a multiple of P: rows b·G … b·G+G−1 share prompt b);
// prefixMask bool [P, Lp] (true = a real token) or missing; suffix keys/values [B, Hkv, Ls, D]
// whose last Tq entries are the queries' own (causal within the suffix). Returns [B, H, Tq, Dv].
FGRPO_FN(PrefixAttention)
  const at::Tensor& q = ArgTensor(info, 0);
  const at::Tensor& pk = ArgTensor(info, 1);
  const at::Tensor& pv = ArgTensor(info, 2);
  auto mask = ArgOptTensor(info, 3);
  const at::Tensor& sk = ArgTensor(info, 4);
  const at::Tensor& sv = ArgTensor(info, 5);
  double scale = ArgIsMissing(info, 6) ? 1.0 / std::sqrt(static_cast<double>(q.size(-1))) : ArgDouble(info, 6);
  PrefixShapes s = CheckShapes(q, pk, pv, mask, sk, sv);
  bool sameType = pk.scalar_type() == q.scalar_type() && pv.scalar_type() == q.scalar_type() && sk.scalar_type() == q.scalar_type() &&
                  sv.scalar_type() == q.scalar_type();
  bool sameDevice = pk.device() == q.device() && pv.device() == q.device() && sk.device() == q.device() && sv.device() == q.device() &&
                    (!mask || mask->device() == q.device());
  bool fused = kernels::Enabled() && CpuFloating(q) && sameType && sameDevice && !NeedsGrad({q, pk, pv, sk, sv});
  return Wrap(info, fused ? Fused(q, pk, pv, mask, sk, sv, s, scale) : Composed(q, pk, pv, mask, sk, sv, s, scale));
FGRPO_END

void RegisterPrefixAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("prefixAttention", Napi::Function::New(env, PrefixAttention, "prefixAttention"));
}

}  // namespace fgrpo
