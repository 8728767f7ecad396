// A caching CPU allocator. libtorch's default CPU allocator calls malloc/free for every tensor.
// With glibc that is either slow or leaky for tensor workloads: blocks of 128 KB and more are
// mmap'ed and page-faulted afresh on every allocation (measured: a small model's forward and
// backward 60% slower), or, when glibc's dynamic threshold moves them onto the heap, the heap
// fragments and resident memory grows without bound. Training and decoding loops allocate the
// same sizes step after step, so blocks are kept on free lists by size class and reused, like
// PyTorch's CUDA caching allocator.
//
// Why it is built this way (each point fixed a measured RSS growth during RL, issue 14):
// - Every block of a page or more is mapped with mmap, never taken from the malloc heap. Tensor
//   blocks of 4–128 KB on the heap were carved up by the small objects allocated between a
//   block's free and its next request (V8 frees its wrappers only at garbage collection), so
//   each step's blocks landed on fresh heap: +0.57 MB resident per RL step without end.
// - Sizes are rounded to classes (pages below 128 KB, eighths of a power of two above), so the
//   varying widths of rollout batches share blocks instead of filling the cache with one list
//   per exact size.
// - A block that sat unused on its free list for kIdleAllocs allocations is unmapped: a size
//   that the workload stopped asking for (a longer validation batch, a one-off) does not stay
//   resident. The cache is also capped (FGRPO_CPU_CACHE_MB, default 1024); beyond the cap,
//   freed blocks are unmapped at once.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fgrpo {

namespace {

constexpr size_t kMinCached = 4096;  // smaller blocks: glibc's small-object bins do well
constexpr size_t kPage = 4096;
constexpr size_t kOctaveSplit = 128 << 10;  // from here on, classes are eighths of an octave
constexpr uint64_t kIdleAllocs = 1 << 16;
constexpr uint64_t kSweepEvery = 1 << 12;
constexpr size_t kFitSlack = 2;  // a request may take a cached block up to this many times its class

// The block size that serves a request of n bytes (n >= kMinCached).
size_t SizeClass(size_t n) {
  size_t step = kPage;
  if (n > kOctaveSplit) {
    size_t top = size_t{1} << (63 - __builtin_clzll(static_cast<unsigned long long>(n - 1)));
    step = std::max(kPage, top / 8);
  }
  return (n + step - 1) / step * step;
}

void* MapBlock(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

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
    size_t unmap = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sizes_.find(ptr);
      if (it == sizes_.end()) {
        // A small block from c10::alloc_cpu.
      } else {
        size_t size = it->second;
        sizes_.erase(it);
        live_ -= size;
        if (cached_ + size <= limit_) {
          free_[size].push_back({ptr, ticks_});
          cached_ += size;
          return;
        }
        unmap = size;
      }
    }
    if (unmap > 0) munmap(ptr, unmap);
    else c10::free_cpu(ptr);
  }

  // Returns every cached block to the system.
  void EmptyCache() {
    std::map<size_t, std::vector<Entry>> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drop.swap(free_);
      cached_ = 0;
    }
    for (auto& [size, entries] : drop)
      for (const Entry& e : entries) munmap(e.ptr, size);
  }

  void Stats(size_t* cached, size_t* live, size_t* hits, size_t* misses) {
    std::lock_guard<std::mutex> lock(mu_);
    *cached = cached_;
    *live = live_;
    *hits = hits_;
    *misses = misses_;
  }

 private:
  struct Entry {
    void* ptr;
    uint64_t released;  // ticks_ when it was put on the list
  };

  static void Delete(void* ptr) { Instance().Release(ptr); }

  // Takes blocks idle for kIdleAllocs allocations off the lists (under mu_); the caller unmaps them.
  void SweepIdle(std::vector<std::pair<void*, size_t>>* out) {
    for (auto it = free_.begin(); it != free_.end();) {
      auto& list = it->second;
      size_t kept = 0;
      for (const Entry& e : list) {
        if (ticks_ - e.released > kIdleAllocs) {
          out->push_back({e.ptr, it->first});
          cached_ -= it->first;
        } else {
          list[kept++] = e;
        }
      }
      list.resize(kept);
      it = list.empty() ? free_.erase(it) : std::next(it);
    }
  }

  c10::DataPtr Allocate(size_t n) {
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
    }
    size_t size = SizeClass(n);
    void* p = nullptr;
    std::vector<std::pair<void*, size_t>> idle;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (++ticks_ % kSweepEvery == 0) SweepIdle(&idle);
      // Best fit: the smallest cached block that holds the request, up to kFitSlack times its
      // class. Exact classes alone left each rollout width its own blocks, so the cache swung
      // with the mix of widths of the last kIdleAllocs allocations; larger blocks already
      // resident serve the shorter widths instead.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size * kFitSlack) {
        // The most recently released block: its pages are the likeliest to be resident.
        size = it->first;
        p = it->second.back().ptr;
        it->second.pop_back();
        if (it->second.empty()) free_.erase(it);
        cached_ -= size;
        ++hits_;
      } else {
        ++misses_;
      }
    }
    for (auto& [ptr, bytes] : idle) munmap(ptr, bytes);
    if (p == nullptr) {
      p = MapBlock(size);
      if (p == nullptr) {
        // Out of memory with blocks of other sizes cached: give them back and retry once.
        EmptyCache();
        p = MapBlock(size);
      }
      TORCH_CHECK(p != nullptr, "CPU allocator: out of memory allocating ", n, " bytes");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = size;
      live_ += size;
    }
    return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
  }

  std::mutex mu_;
  std::map<size_t, std::vector<Entry>> free_;  // ordered: best fit is a lower_bound
  std::unordered_map<void*, size_t> sizes_;  // live mapped blocks
  size_t limit_ = 0;
  size_t cached_ = 0;
  size_t live_ = 0;
  size_t hits_ = 0;
  size_t misses_ = 0;
  uint64_t ticks_ = 0;  // large allocations so far: the clock of the idle sweep
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
