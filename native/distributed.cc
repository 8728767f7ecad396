// Process groups over libtorch's own distributed engine, c10d: the TCPStore rendezvous and the
// Gloo (CPU tensors) and NCCL (CUDA tensors) backends that torch.distributed and DDP run on. No
// communication code of ours: this file only binds c10d to JavaScript.
//
// A group is identified by a small integer (the registry below). Each collective is enqueued on
// the backend's own threads; with `async` false the call blocks the JavaScript thread until it
// completes or times out, with `async` true it returns a Promise settled from a libuv worker
// thread (napi async work), so the event loop keeps running. Every failure c10d reports (a peer
// that closed its connection, a timeout, a store that is gone) becomes a JavaScript Error.
#include "common.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

// FGRPO_NO_GLOO builds without the binding (each function then throws), as without the headers.
#if !defined(FGRPO_NO_GLOO) && __has_include(<gloo/algorithm.h>)
#define FGRPO_HAVE_GLOO 1
// libtorch guards its Gloo header with the macro of its own build; the symbols are in libtorch_cpu.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#if defined(FGRPO_CUDA) && __has_include(<nccl.h>)
// libtorch's NCCL header is guarded by the macro its own build defines; a libtorch compiled with
// CUDA (libtorch_cuda.so, FGRPO_CUDA) carries ProcessGroupNCCL's symbols.
#define FGRPO_HAVE_NCCL 1
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace fgrpo {

#ifdef FGRPO_HAVE_GLOO

// libtorch 2.x split the collective interface into c10d::Backend (what Gloo and NCCL implement);
// in 1.13 the backends are c10d::ProcessGroup subclasses themselves.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  int rank = 0;
  int size = 1;
  std::string name;
};

std::mutex registryMutex;
// Never destroyed: a group still registered at exit (one whose peer failed) is left to the OS
// rather than joined, since joining a backend thread blocked on a dead peer waits for the timeout.
auto& registry = *new std::map<int, std::shared_ptr<Group>>();
int nextId = 1;

std::shared_ptr<Group> GroupOf(const Napi::CallbackInfo& info, size_t i) {
  int id = static_cast<int>(ArgInt(info, i));
  std::lock_guard<std::mutex> lock(registryMutex);
  auto it = registry.find(id);
  if (it == registry.end()) throw std::invalid_argument("distributed: process group " + std::to_string(id) + " is not initialised or was destroyed");
  return it->second;
}

std::string StringField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw std::invalid_argument(std::string("distributed.init: option \"") + key + "\" must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int64_t IntField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw std::invalid_argument(std::string("distributed.init: option \"") + key + "\" must be a number");
  return v.As<Napi::Number>().Int64Value();
}

std::shared_ptr<::gloo::transport::Device> GlooDevice(const std::string& masterAddr) {
  // The interface Gloo binds to: GLOO_SOCKET_IFNAME as in torch.distributed; on one machine the
  // loopback address (the host name may resolve to an address peers cannot reach); otherwise
  // the address the host name resolves to.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (masterAddr == "127.0.0.1" || masterAddr == "localhost") return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Blocks on one piece of work; rethrows the backend's error with a prefix naming the operation.
void WaitWork(const WorkPtr& work, const std::string& what) {
  try {
    work->wait();
  } catch (const c10::Error& e) {
    throw std::runtime_error(what + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

// Completes one collective off the JavaScript thread; `finish` (divide for an average) runs there too.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, WorkPtr work, std::string what, std::function<void()> finish)
      : Napi::AsyncWorker(env), work_(std::move(work)), what_(std::move(what)), finish_(std::move(finish)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      WaitWork(work_, what_);
      if (finish_) finish_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  WorkPtr work_;
  std::string what_;
  std::function<void()> finish_;
  Napi::Promise::Deferred deferred_;
};

// Waits now (async false) or returns a Promise (async true).
Napi::Value Complete(const Napi::CallbackInfo& info, bool async, WorkPtr work, const std::string& what, std::function<void()> finish = {}) {
  if (!async) {
    WaitWork(work, what);
    if (finish) finish();
    return info.Env().Undefined();
  }
  auto* worker = new WaitWorker(info.Env(), std::move(work), what, std::move(finish));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

std::string Describe(const Group& g, const char* op) { return std::string("distributed ") + op + " (rank " + std::to_string(g.rank) + "/" + std::to_string(g.size) + ", " + g.name + ")"; }

}  // namespace

// Constructs the backend; its constructor is the rendezvous (blocks until every rank has joined).
static void CreateBackend(Group& g, const std::string& backend, const c10::intrusive_ptr<c10d::Store>& prefixed, const std::string& addr, std::chrono::milliseconds timeout);

// init({masterAddr, masterPort, rank, worldSize, timeoutMs, backend: "gloo" | "nccl"}) → group id.
// Rank 0 hosts the TCPStore; every rank connects to it and the backend rendezvouses through it.
// Blocks until all ranks have joined or timeoutMs has passed.
FGRPO_FN(DistInit)
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "distributed.init: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  std::string addr = StringField(o, "masterAddr"), backend = StringField(o, "backend");
  int64_t port = IntField(o, "masterPort"), rank = IntField(o, "rank"), size = IntField(o, "worldSize"), timeoutMs = IntField(o, "timeoutMs");
  if (port <= 0 || port > 65535) throw std::invalid_argument("distributed.init: masterPort must be in 1..65535, got " + std::to_string(port));
  if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("distributed.init: rank " + std::to_string(rank) + " is not in 0.." + std::to_string(size - 1));
  if (timeoutMs <= 0) throw std::invalid_argument("distributed.init: timeoutMs must be positive");
  auto timeout = std::chrono::milliseconds(timeoutMs);
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = static_cast<std::size_t>(size);
  so.waitWorkers = true;
  so.timeout = timeout;
  auto g = std::make_shared<Group>();
  g->rank = static_cast<int>(rank);
  g->size = static_cast<int>(size);
  g->name = backend;
  try {
    g->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed.init: rank " + std::to_string(rank) + " could not " + (rank == 0 ? "host" : "reach") + " the store at " + addr + ":" +
                             std::to_string(port) + ": " + (dynamic_cast<const c10::Error*>(&e) ? static_cast<const c10::Error&>(e).what_without_backtrace() : e.what()));
  }
  // Keys of the backend's rendezvous live under their own prefix, apart from the caller's keys.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("backend/" + backend, g->store);
  try {
    CreateBackend(*g, backend, prefixed, addr, timeout);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed.init: rank " + std::to_string(rank) + ": the " + std::to_string(size) + " ranks did not all join the " + backend + " group within " +
                             std::to_string(timeoutMs) + " ms: " +
                             (dynamic_cast<const c10::Error*>(&e) ? static_cast<const c10::Error&>(e).what_without_backtrace() : e.what()));
  }
  std::lock_guard<std::mutex> lock(registryMutex);
  int id = nextId++;
  registry[id] = g;
  return Napi::Number::New(info.Env(), id);
FGRPO_END

static void CreateBackend(Group& g, const std::string& backend, const c10::intrusive_ptr<c10d::Store>& prefixed, const std::string& addr, std::chrono::milliseconds timeout) {
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(GlooDevice(addr));
    // One thread per group is what Gloo's collectives of this trainer need (a few buffers per step).
    opts->threads = 2;
    g.backend = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, g.rank, g.size, opts);
  } else if (backend == "nccl") {
#ifdef FGRPO_HAVE_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    g.backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, g.rank, g.size, opts);
#else
    throw std::invalid_argument("distributed.init: backend \"nccl\" needs a libtorch built with CUDA and NCCL; this addon was compiled without them (use \"gloo\")");
#endif
  } else {
    throw std::invalid_argument("distributed.init: unknown backend \"" + backend + "\" (expected \"gloo\" or \"nccl\")");
  }
}

// destroy(id): drops the group (its connections close once no collective holds it).
FGRPO_FN(DistDestroy)
  int id = static_cast<int>(ArgInt(info, 0));
  std::lock_guard<std::mutex> lock(registryMutex);
  registry.erase(id);
  return info.Env().Undefined();
FGRPO_END

// allReduce(id, tensors[], op: "sum" | "avg" | "max" | "min", async) — in place. Gloo has no
// average: it is the sum divided by the world size, as torch.distributed does for Gloo.
FGRPO_FN(DistAllReduce)
  auto g = GroupOf(info, 0);
  auto tensors = ArgTensorList(info, 1);
  std::string op = ArgString(info, 2);
  bool async = ArgBool(info, 3, false);
  c10d::AllreduceOptions o;
  if (op == "sum" || op == "avg") o.reduceOp = c10d::ReduceOp::SUM;
  else if (op == "max") o.reduceOp = c10d::ReduceOp::MAX;
  else if (op == "min") o.reduceOp = c10d::ReduceOp::MIN;
  else throw std::invalid_argument("distributed.allReduce: unknown op \"" + op + "\" (sum, avg, max, min)");
  auto work = g->backend->allreduce(tensors, o);
  std::function<void()> finish;
  if (op == "avg") {
    int n = g->size;
    finish = [tensors, n]() {
      c10::AutoGradMode noGrad(false);
      for (const auto& t : tensors) const_cast<at::Tensor&>(t).div_(n);
    };
  }
  return Complete(info, async, work, Describe(*g, "allReduce"), finish);
FGRPO_END

// broadcast(id, tensors[], root, async) — in place.
FGRPO_FN(DistBroadcast)
  auto g = GroupOf(info, 0);
  auto tensors = ArgTensorList(info, 1);
  c10d::BroadcastOptions o;
  o.rootRank = ArgInt(info, 2);
  bool async = ArgBool(info, 3, false);
  if (o.rootRank < 0 || o.rootRank >= g->size) throw std::invalid_argument("distributed.broadcast: root " + std::to_string(o.rootRank) + " is not a rank");
  return Complete(info, async, g->backend->broadcast(tensors, o), Describe(*g, "broadcast"));
FGRPO_END

// allGather(id, output[] (worldSize tensors shaped like input), input, async) — fills output.
FGRPO_FN(DistAllGather)
  auto g = GroupOf(info, 0);
  std::vector<std::vector<at::Tensor>> out{ArgTensorList(info, 1)};
  std::vector<at::Tensor> in{ArgTensor(info, 2)};
  bool async = ArgBool(info, 3, false);
  if (static_cast<int>(out[0].size()) != g->size) throw std::invalid_argument("distributed.allGather: expected " + std::to_string(g->size) + " output tensors, got " + std::to_string(out[0].size()));
  return Complete(info, async, g->backend->allgather(out, in, c10d::AllgatherOptions()), Describe(*g, "allGather"));
FGRPO_END

// barrier(id, async)
FGRPO_FN(DistBarrier)
  auto g = GroupOf(info, 0);
  bool async = ArgBool(info, 1, false);
  return Complete(info, async, g->backend->barrier(c10d::BarrierOptions()), Describe(*g, "barrier"));
FGRPO_END

// storeAdd(id, key, delta) → the counter's new value (delta 0 reads it without blocking).
FGRPO_FN(DistStoreAdd)
  auto g = GroupOf(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(g->store->add("user/" + ArgString(info, 1), ArgInt(info, 2))));
FGRPO_END

// storeSet(id, key, value) / storeGet(id, key) → string (waits for the key up to the store's timeout).
FGRPO_FN(DistStoreSet)
  auto g = GroupOf(info, 0);
  std::string v = ArgString(info, 2);
  g->store->set("user/" + ArgString(info, 1), std::vector<uint8_t>(v.begin(), v.end()));
  return info.Env().Undefined();
FGRPO_END

FGRPO_FN(DistStoreGet)
  auto g = GroupOf(info, 0);
  auto v = g->store->get("user/" + ArgString(info, 1));
  return Napi::String::New(info.Env(), std::string(v.begin(), v.end()));
FGRPO_END

// ---------------------------------------------------------------------------------------------
// Gradient reduction overlapping the backward pass (what DDP's c10d::Reducer does; that class is
// in libtorch_cpu but is driven from Python's DistributedDataParallel, so this is the same
// mechanism, small): a post-hook on each parameter's gradient accumulator runs inside the
// autograd engine (C++, no JavaScript) once that parameter's gradient is complete; when every
// parameter of a bucket is, the bucket's gradients (times this rank's weight) are copied into
// one flat buffer and its all-reduce is started on Gloo's threads while the backward goes on.
// Buckets hold the parameters in reverse order (the backward reaches the last layers first) and
// are launched strictly in bucket order, so every rank issues the same collectives in the same
// order. `finish` launches what the backward did not (parameters that got no gradient: their
// has-gradient flag is 0), reduces [weight, weight·loss] and a per-bucket "stale" flag (a
// parameter whose accumulator fired again after its bucket left, e.g. used both inside and
// outside a reentrant checkpoint), waits, re-reduces stale buckets from the final gradients on
// every rank, then divides by the total weight and writes the gradients back.
namespace {

struct Bucket {
  std::vector<size_t> members;  // parameter indices
  int64_t numel = 0;
  at::Tensor flat;              // [gradients…, has-gradient flags…]
  WorkPtr work;
  size_t pending = 0;           // members whose hook has not fired in this backward
  bool launched = false;
  bool stale = false;
};

struct Reducer {
  std::shared_ptr<Group> group;
  std::vector<at::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // kept alive: they carry the hooks
  std::vector<uintptr_t> hookKeys;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucketOf;
  std::vector<bool> fired;
  size_t next = 0;
  bool armed = false;
  double weight = 1;
  size_t launchedInBackward = 0;
  std::string hookError;
  std::mutex mutex;

  ~Reducer() {
    for (size_t i = 0; i < accumulators.size(); ++i) accumulators[i]->del_post_hook(hookKeys[i]);
  }

  void Fill(Bucket& b) {
    c10::AutoGradMode noGrad(false);
    int64_t off = 0;
    for (size_t k = 0; k < b.members.size(); ++k) {
      const at::Tensor& p = params[b.members[k]];
      at::Tensor slice = b.flat.narrow(0, off, p.numel());
      const at::Tensor& g = p.grad();
      if (g.defined()) at::mul_out(slice, g.reshape(-1), weight);
      else slice.zero_();
      b.flat[b.numel + static_cast<int64_t>(k)].fill_(g.defined() ? 1 : 0);
      off += p.numel();
    }
  }

  void Launch(Bucket& b) {
    Fill(b);
    std::vector<at::Tensor> ts{b.flat};
    b.work = group->backend->allreduce(ts, c10d::AllreduceOptions());
    b.launched = true;
  }

  // From the autograd engine: parameter i's gradient is complete.
  void OnGradient(size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    Bucket& b = buckets[bucketOf[i]];
    if (b.launched) {
      b.stale = true;
      return;
    }
    if (!fired[i]) {
      fired[i] = true;
      b.pending -= 1;
    }
    try {
      while (next < buckets.size() && buckets[next].pending == 0) {
        Launch(buckets[next++]);
        launchedInBackward += 1;
      }
    } catch (const std::exception& e) {
      // Reported by finish(): throwing here would unwind through the autograd engine.
      if (hookError.empty()) hookError = e.what();
      armed = false;
    }
  }

  void Reset() {
    for (auto& b : buckets) {
      b.work.reset();
      b.launched = b.stale = false;
      b.pending = b.members.size();
    }
    std::fill(fired.begin(), fired.end(), false);
    next = 0;
    launchedInBackward = 0;
    armed = false;
  }
};

std::mutex reducerMutex;
auto& reducers = *new std::map<int, std::shared_ptr<Reducer>>();
int nextReducerId = 1;

std::shared_ptr<Reducer> ReducerOf(const Napi::CallbackInfo& info, size_t i) {
  int id = static_cast<int>(ArgInt(info, i));
  std::lock_guard<std::mutex> lock(reducerMutex);
  auto it = reducers.find(id);
  if (it == reducers.end()) throw std::invalid_argument("distributed: gradient reducer " + std::to_string(id) + " does not exist or was destroyed");
  return it->second;
}

}  // namespace

// reducerCreate(group, params[], bucketCapBytes, firstBucketCapBytes) → id. Buckets of one dtype
// and device in reverse parameter order; the first is smaller (DDP's 1 MB) so that the first
// all-reduce starts early in the backward.
FGRPO_FN(DistReducerCreate)
  auto g = GroupOf(info, 0);
  auto params = ArgTensorList(info, 1);
  int64_t cap = ArgInt(info, 2), firstCap = ArgInt(info, 3);
  if (cap <= 0 || firstCap <= 0) throw std::invalid_argument("distributed: bucket caps must be positive");
  auto r = std::make_shared<Reducer>();
  r->group = g;
  r->params = params;
  r->bucketOf.assign(params.size(), 0);
  r->fired.assign(params.size(), false);
  int64_t bytes = 0;
  for (size_t n = params.size(); n-- > 0;) {
    const at::Tensor& p = params[n];
    if (!p.requires_grad() || !p.is_leaf()) throw std::invalid_argument("distributed: gradient reducer parameter " + std::to_string(n) + " is not a leaf that requires grad");
    int64_t size = p.numel() * static_cast<int64_t>(p.element_size());
    bool fresh = r->buckets.empty();
    if (!fresh) {
      const at::Tensor& last = params[r->buckets.back().members.back()];
      int64_t limit = r->buckets.size() == 1 ? firstCap : cap;
      fresh = bytes + size > limit || last.scalar_type() != p.scalar_type() || last.device() != p.device();
    }
    if (fresh) {
      r->buckets.emplace_back();
      bytes = 0;
    }
    Bucket& b = r->buckets.back();
    b.members.push_back(n);
    b.numel += p.numel();
    bytes += size;
    r->bucketOf[n] = r->buckets.size() - 1;
  }
  for (auto& b : r->buckets) {
    const at::Tensor& p = params[b.members[0]];
    b.flat = at::empty({b.numel + static_cast<int64_t>(b.members.size())}, p.options().requires_grad(false));
    b.pending = b.members.size();
  }
  std::weak_ptr<Reducer> weak = r;
  for (size_t i = 0; i < params.size(); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(params[i]);
    r->hookKeys.push_back(acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [weak, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          if (auto self = weak.lock()) self->OnGradient(i);
          return outputs;
        })));
    r->accumulators.push_back(std::move(acc));
  }
  std::lock_guard<std::mutex> lock(reducerMutex);
  int id = nextReducerId++;
  reducers[id] = r;
  return Napi::Number::New(info.Env(), id);
FGRPO_END

// reducerArm(id, weight): the next backward launches buckets as they complete.
FGRPO_FN(DistReducerArm)
  auto r = ReducerOf(info, 0);
  std::lock_guard<std::mutex> lock(r->mutex);
  r->Reset();
  r->weight = ArgDouble(info, 1);
  r->armed = true;
  return info.Env().Undefined();
FGRPO_END

// reducerFinish(id, loss, weight) → [total loss, total weight, buckets launched during backward,
// buckets, stale buckets reduced again]. Without a preceding arm, every bucket is launched here with `weight` (no overlap).
FGRPO_FN(DistReducerFinish)
  auto r = ReducerOf(info, 0);
  double loss = ArgDouble(info, 1);
  std::lock_guard<std::mutex> lock(r->mutex);
  bool wasArmed = r->armed;
  r->armed = false;
  if (!wasArmed) r->weight = ArgDouble(info, 2);
  const std::string what = Describe(*r->group, "allReduce (gradients)");
  double totalLoss = 0, totalWeight = 0;
  size_t overlapped = r->launchedInBackward, stale = 0;
  try {
    if (!r->hookError.empty()) throw std::runtime_error(r->hookError);
    while (r->next < r->buckets.size()) r->Launch(r->buckets[r->next++]);
    size_t nb = r->buckets.size();
    at::Tensor meta = at::zeros({static_cast<int64_t>(2 + nb)}, at::kDouble);
    auto m = meta.accessor<double, 1>();
    m[0] = r->weight;
    m[1] = r->weight * loss;
    for (size_t b = 0; b < nb; ++b) m[2 + b] = r->buckets[b].stale ? 1 : 0;
    std::vector<at::Tensor> metaList{meta};
    auto metaWork = r->group->backend->allreduce(metaList, c10d::AllreduceOptions());
    for (auto& b : r->buckets) WaitWork(b.work, what);
    WaitWork(metaWork, what);
    totalWeight = m[0];
    totalLoss = m[1] / totalWeight;
    c10::AutoGradMode noGrad(false);
    for (size_t b = 0; b < nb; ++b) {
      Bucket& bk = r->buckets[b];
      if (m[2 + b] > 0) {
        // Some rank's gradient changed after this bucket left: reduce the final gradients again.
        stale += 1;
        r->Fill(bk);
        std::vector<at::Tensor> ts{bk.flat};
        WaitWork(r->group->backend->allreduce(ts, c10d::AllreduceOptions()), what);
      }
      bk.flat.mul_(1 / totalWeight);
      auto flags = bk.flat.narrow(0, bk.numel, static_cast<int64_t>(bk.members.size())).to(at::kDouble);
      auto f = flags.accessor<double, 1>();
      int64_t off = 0;
      for (size_t k = 0; k < bk.members.size(); ++k) {
        at::Tensor& p = r->params[bk.members[k]];
        if (f[k] > 0) {
          at::Tensor reduced = bk.flat.narrow(0, off, p.numel()).view(p.sizes());
          if (p.grad().defined()) p.mutable_grad().copy_(reduced);
          else p.mutable_grad() = reduced.clone();
        }
        off += p.numel();
      }
    }
  } catch (...) {
    r->hookError.clear();
    r->Reset();
    throw;
  }
  r->Reset();
  Napi::Array out = Napi::Array::New(info.Env());
  out.Set(0u, Napi::Number::New(info.Env(), totalLoss));
  out.Set(1u, Napi::Number::New(info.Env(), totalWeight));
  out.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(overlapped)));
  out.Set(3u, Napi::Number::New(info.Env(), static_cast<double>(r->buckets.size())));
  out.Set(4u, Napi::Number::New(info.Env(), static_cast<double>(stale)));
  return out;
FGRPO_END

// reducerDestroy(id): removes the hooks.
FGRPO_FN(DistReducerDestroy)
  int id = static_cast<int>(ArgInt(info, 0));
  std::shared_ptr<Reducer> r;
  {
    std::lock_guard<std::mutex> lock(reducerMutex);
    auto it = reducers.find(id);
    if (it == reducers.end()) return info.Env().Undefined();
    r = it->second;
    reducers.erase(it);
  }
  return info.Env().Undefined();
FGRPO_END

static Napi::Value DistBackends(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
  a.Set(0u, Napi::String::New(info.Env(), "gloo"));
#ifdef FGRPO_HAVE_NCCL
  a.Set(1u, Napi::String::New(info.Env(), "nccl"));
#endif
  return a;
}

#else  // no Gloo headers at build time

static Napi::Value DistUnavailable(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "distributed: this addon was built without Gloo's headers (install libgloo-dev, or use a libtorch that ships include/gloo, and rebuild with npm run build:native)");
}
static Napi::Value DistBackends(const Napi::CallbackInfo& info) { return Napi::Array::New(info.Env()); }

#endif

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
#ifdef FGRPO_HAVE_GLOO
  d.Set("init", Napi::Function::New(env, DistInit));
  d.Set("destroy", Napi::Function::New(env, DistDestroy));
  d.Set("allReduce", Napi::Function::New(env, DistAllReduce));
  d.Set("broadcast", Napi::Function::New(env, DistBroadcast));
  d.Set("allGather", Napi::Function::New(env, DistAllGather));
  d.Set("barrier", Napi::Function::New(env, DistBarrier));
  d.Set("storeAdd", Napi::Function::New(env, DistStoreAdd));
  d.Set("storeSet", Napi::Function::New(env, DistStoreSet));
  d.Set("storeGet", Napi::Function::New(env, DistStoreGet));
  d.Set("reducerCreate", Napi::Function::New(env, DistReducerCreate));
  d.Set("reducerArm", Napi::Function::New(env, DistReducerArm));
  d.Set("reducerFinish", Napi::Function::New(env, DistReducerFinish));
  d.Set("reducerDestroy", Napi::Function::New(env, DistReducerDestroy));
#else
  for (const char* name : {"init", "destroy", "allReduce", "broadcast", "allGather", "barrier", "storeAdd", "storeSet", "storeGet", "reducerCreate", "reducerArm", "reducerFinish", "reducerDestroy"}) d.Set(name, Napi::Function::New(env, DistUnavailable));
#endif
  d.Set("backends", Napi::Function::New(env, DistBackends));
  exports.Set("distributed", d);
}

}  // namespace fgrpo
