// Activation checkpointing: a custom autograd node whose forward runs a JavaScript function
// without recording a graph, and whose backward runs it again with the graph recorded and
// back-propagates through that recomputation (PyTorch's reentrant torch.utils.checkpoint).
// Only the function's inputs are kept between forward and backward, so a checkpointed decoder
// layer holds one hidden-state tensor instead of every intermediate of the layer.
//
// The node calls back into JavaScript, which is only allowed on the JavaScript thread. libtorch
// runs the backward of CPU tensors on the thread that called backward() (the JavaScript thread);
// CUDA tensors are differentiated on libtorch's device threads, so checkpointing is refused for
// them in the forward, and the backward re-checks the thread before calling JavaScript.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/variable.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace fgrpo {

static std::thread::id g_js_thread;
// Set when the environment is torn down: a node freed after that must not touch its reference.
static std::atomic<bool> g_env_alive{false};

static at::Tensor CpuRngState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}
static void SetCpuRngState(const at::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// Calls fn(handles of ts) and returns the tensors of the handles it returns. The returned
// handles are freed here (the node holds its own references), so the JavaScript wrappers that
// remain in a scope keep no memory alive.
static std::vector<at::Tensor> CallJs(Napi::Env env, Napi::Function fn, const std::vector<at::Tensor>& ts) {
  Napi::HandleScope scope(env);
  Napi::Array args = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); ++k) args.Set(static_cast<uint32_t>(k), TensorHandle::Wrap(env, ts[k]));
  Napi::Value r = fn.Call({args});
  if (!r.IsArray()) throw std::runtime_error("checkpoint: the function must return an array of tensors");
  Napi::Array arr = r.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!TensorHandle::Is(v)) throw std::runtime_error("checkpoint: the function must return an array of tensors");
    TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
    out.push_back(h->tensor());
    h->Reset(env);
  }
  return out;
}

struct CheckpointBackward : public torch::autograd::Node {
  CheckpointBackward(Napi::Env env, Napi::Function fn, std::vector<at::Tensor> inputs, at::Tensor rng)
      : env_(env), fn_(Napi::Persistent(fn)), inputs_(std::move(inputs)), rng_(std::move(rng)) {}

  ~CheckpointBackward() override {
    // After teardown the reference is already gone with its environment.
    if (!g_env_alive.load() || std::this_thread::get_id() != g_js_thread) fn_.SuppressDestruct();
  }

  std::string name() const override { return "CheckpointBackward"; }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    if (std::this_thread::get_id() != g_js_thread) {
      throw std::runtime_error("checkpoint: backward ran off the JavaScript thread (checkpointing supports CPU tensors only)");
    }
    // Inputs that need a gradient become leaves of the recomputed graph; the rest pass as they are.
    std::vector<at::Tensor> leaves;
    for (const auto& t : inputs_) leaves.push_back(t.requires_grad() ? t.detach().requires_grad_(true) : t);
    // The recomputation must draw the same random numbers as the forward did (dropout).
    at::Tensor now = CpuRngState();
    SetCpuRngState(rng_);
    std::vector<at::Tensor> outs;
    try {
      at::AutoGradMode enable(true);
      outs = CallJs(env_, fn_.Value(), leaves);
    } catch (const Napi::Error& e) {
      SetCpuRngState(now);
      throw std::runtime_error(std::string("checkpoint: recomputation failed: ") + e.Message());
    } catch (...) {
      SetCpuRngState(now);
      throw;
    }
    SetCpuRngState(now);
    if (outs.size() != grads.size()) throw std::runtime_error("checkpoint: the recomputation returned a different number of outputs");
    std::vector<at::Tensor> roots, rootGrads;
    for (size_t k = 0; k < outs.size(); ++k) {
      if (grads[k].defined() && outs[k].requires_grad()) {
        roots.push_back(outs[k]);
        rootGrads.push_back(grads[k]);
      }
    }
    // Accumulates into .grad of every leaf the recomputation used: the parameters (as in a
    // plain backward) and the detached inputs, whose gradients flow on to the outer graph.
    if (!roots.empty()) torch::autograd::backward(roots, rootGrads, /*keep_graph=*/false, /*create_graph=*/false);
    torch::autograd::variable_list result;
    for (size_t k = 0; k < inputs_.size(); ++k) result.push_back(inputs_[k].requires_grad() ? leaves[k].grad() : at::Tensor());
    inputs_.clear();  // a second backward through this node would be an error anyway
    return result;
  }

  void release_variables() override { inputs_.clear(); }

  Napi::Env env_;
  Napi::FunctionReference fn_;
  std::vector<at::Tensor> inputs_;
  at::Tensor rng_;
};

// checkpoint(fn, inputs[]) -> outputs[]: fn(handles[]) -> handles[] is run now without a graph,
// and again in backward. With grad mode off it is simply called.
FGRPO_FN(Checkpoint)
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "argument 0: expected a function");
  Napi::Function fn = info[0].As<Napi::Function>();
  std::vector<at::Tensor> inputs = ArgTensorList(info, 1);
  Napi::Env env = info.Env();
  if (!c10::GradMode::is_enabled()) return WrapList(info, CallJs(env, fn, inputs));
  for (const auto& t : inputs) {
    if (!t.device().is_cpu()) throw std::runtime_error("checkpoint: only CPU tensors are supported (libtorch differentiates CUDA tensors on its own threads, which cannot call JavaScript)");
  }
  at::Tensor rng = CpuRngState();
  std::vector<at::Tensor> outs;
  {
    at::AutoGradMode off(false);
    outs = CallJs(env, fn, inputs);
  }
  auto node = std::make_shared<CheckpointBackward>(env, fn, inputs, rng);
  node->set_next_edges(torch::autograd::collect_next_edges(inputs));
  std::vector<at::Tensor> result;
  for (auto& o : outs) {
    if (!o.defined() || !torch::autograd::isDifferentiableType(o.scalar_type())) throw std::runtime_error("checkpoint: every output must be a floating-point tensor");
    // The outputs were made without a graph; a fresh variable gets this node as its history.
    at::Tensor v = torch::autograd::make_variable(o, /*requires_grad=*/false);
    torch::autograd::create_gradient_edge(v, node);
    result.push_back(v);
  }
  return WrapList(info, result);
FGRPO_END

void RegisterCheckpoint(Napi::Env env, Napi::Object e) {
  g_js_thread = std::this_thread::get_id();
  g_env_alive.store(true);
  napi_add_env_cleanup_hook(env, [](void*) { g_env_alive.store(false); }, nullptr);
  e.Set("checkpoint", Napi::Function::New(env, Checkpoint, "checkpoint"));
}

}  // namespace fgrpo
