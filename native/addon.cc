// Entry point of the fgrpo native addon: a thin N-API layer over libtorch.
#include "common.h"

namespace fgrpo {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterTensor(env, exports);
  RegisterOps(env, exports);
  RegisterAutograd(env, exports);
  RegisterOptim(env, exports);
  return exports;
}

}  // namespace fgrpo

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return fgrpo::Init(env, exports); }

NODE_API_MODULE(fgrpo_native, InitAddon)
