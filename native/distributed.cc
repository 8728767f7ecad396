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
#else
  for (const char* name : {"init", "destroy", "allReduce", "broadcast", "allGather", "barrier", "storeAdd", "storeSet", "storeGet"}) d.Set(name, Napi::Function::New(env, DistUnavailable));
#endif
  d.Set("backends", Napi::Function::New(env, DistBackends));
  exports.Set("distributed", d);
}

}  // namespace fgrpo
