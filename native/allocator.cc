// A caching CPU allocator. libtorch's default CPU allocator calls malloc/free for every tensor.
// With glibc that is either slow or leaky for tensor workloads: blocks of 128 KB and more are
// mmap'ed and page-faulted afresh on every allocation (measured: a small model's forward and
// backward 60% slower), or, when glibc's dynamic threshold moves them onto the heap, the heap
// fragments and resident memory grows without bound. Training and decoding loops allocate the
// same sizes step after step, so large blocks are kept on free lists by size and reused, like
// PyTorch's CUDA caching allocator. The cache is capped (FGRPO_CPU_CACHE_MB, default 1024);
// beyond the cap, freed blocks go back to the system.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace fgrpo {

namespace {

constexpr size_t kMinCached = 128 << 10;  // smaller blocks: glibc's small-object bins do well
constexpr size_t kGranule = 4096;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  CachingCpuAllocator() {
    const char* env = std::getenv("FGRPO_CPU_CACHE_MB");
    limit_ = (env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : 1024) << 20;
  }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return Allocate(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return const_cast<CachingCpuAllocator*>(this)->Allocate(n); }
#endif

  static CachingCpuAllocator& Instance() {
    static CachingCpuAllocator* instance = new CachingCpuAllocator();  // never destroyed: tensors may outlive statics
    return *instance;
  }

  // Kernels that take raw buffers (raw_allocate / raw_deallocate) need the data pointer to be
  // the deleter's context, so block sizes live in a side table instead of the context.
  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  void Release(void* ptr) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sizes_.find(ptr);
      if (it != sizes_.end()) {
        size_t size = it->second;
        sizes_.erase(it);
        live_ -= size;
        if (cached_ + size <= limit_) {
          free_[size].push_back(ptr);
          cached_ += size;
          return;
        }
      }
    }
    c10::free_cpu(ptr);
  }

  // Returns every cached block to the system.
  void EmptyCache() {
    std::unordered_map<size_t, std::vector<void*>> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drop.swap(free_);
      cached_ = 0;
    }
    for (auto& [size, ptrs] : drop)
      for (void* p : ptrs) c10::free_cpu(p);
  }

  void Stats(size_t* cached, size_t* live, size_t* hits, size_t* misses) {
    std::lock_guard<std::mutex> lock(mu_);
    *cached = cached_;
    *live = live_;
    *hits = hits_;
    *misses = misses_;
  }

 private:
  static void Delete(void* ptr) { Instance().Release(ptr); }

  c10::DataPtr Allocate(size_t n) {
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
    }
    size_t size = (n + kGranule - 1) / kGranule * kGranule;
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        ++hits_;
      } else {
        ++misses_;
      }
    }
    if (p == nullptr) {
      try {
        p = c10::alloc_cpu(size);
      } catch (...) {
        // Out of memory with blocks of other sizes cached: give them back and retry once.
        EmptyCache();
        p = c10::alloc_cpu(size);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = size;
      live_ += size;
    }
    return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> sizes_;  // live cached-size blocks
  size_t limit_ = 0;
  size_t cached_ = 0;
  size_t live_ = 0;
  size_t hits_ = 0;
  size_t misses_ = 0;
};

}  // namespace

void InstallCachingAllocator() {
  if (std::getenv("FGRPO_CPU_CACHE_MB") != nullptr && std::strtoull(std::getenv("FGRPO_CPU_CACHE_MB"), nullptr, 10) == 0) return;
  c10::SetCPUAllocator(&CachingCpuAllocator::Instance(), /*priority=*/10);
}

FGRPO_FN(AllocatorStats)
  size_t cached, live, hits, misses;
  CachingCpuAllocator::Instance().Stats(&cached, &live, &hits, &misses);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cachedBytes", static_cast<double>(cached));
  o.Set("liveBytes", static_cast<double>(live));
  o.Set("hits", static_cast<double>(hits));
  o.Set("misses", static_cast<double>(misses));
  o.Set("installed", c10::GetCPUAllocator() == &CachingCpuAllocator::Instance());
  return o;
FGRPO_END

FGRPO_FN(EmptyCache)
  CachingCpuAllocator::Instance().EmptyCache();
  return info.Env().Undefined();
FGRPO_END

void RegisterAllocator(Napi::Env env, Napi::Object e) {
  e.Set("allocatorStats", Napi::Function::New(env, AllocatorStats, "allocatorStats"));
  e.Set("emptyCache", Napi::Function::New(env, EmptyCache, "emptyCache"));
}

}  // namespace fgrpo
