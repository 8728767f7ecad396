// Entry point of the fgrpo native addon: a thin N-API layer over libtorch.
#include "common.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace fgrpo {

// distributed.cc (declared here rather than in common.h, which every op file includes).
void RegisterDistributed(Napi::Env env, Napi::Object exports);

// glibc raises its mmap threshold each time a large block is freed, after which large tensors
// come from the heap, where interleaving with small allocations fragments it: resident memory
// then grows without bound in a training loop that frees everything it allocates (measured:
// 200 MB → 3 GB over 20k scoped allocations of 400 KB). Fixing the threshold at its default
// (128 KB) keeps every tensor of 128 KB and more in its own mapping, returned to the system when
// freed. A user's own MALLOC_MMAP_THRESHOLD_ wins.
static void ConfigureAllocator() {
#ifdef __GLIBC__
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
}

// FGRPO_ISA forces the kernels' instruction set (kernels.h); one the CPU lacks stops the load
// with a one-line error instead of an illegal instruction later.
static void ConfigureIsa(Napi::Env env) {
  const char* name = std::getenv("FGRPO_ISA");
  if (name == nullptr || *name == '\0') return;
  try {
    kernels::SetIsa(kernels::ParseIsa(name, "FGRPO_ISA"));
  } catch (const std::invalid_argument& e) {
    throw Napi::Error::New(env, std::string("fgrpo: ") + e.what());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ConfigureIsa(env);
  ConfigureAllocator();
  InstallCachingAllocator();
  RegisterTensor(env, exports);
  RegisterOps(env, exports);
  RegisterAttention(env, exports);
  RegisterPrefixAttention(env, exports);
  RegisterAutograd(env, exports);
  RegisterCheckpoint(env, exports);
  RegisterOptim(env, exports);
  RegisterAllocator(env, exports);
  RegisterDistributed(env, exports);
  return exports;
}

}  // namespace fgrpo

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return fgrpo::Init(env, exports); }

NODE_API_MODULE(fgrpo_native, InitAddon)
