{
  "targets": [
    {
      "target_name": "fgrpo_native",
      "sources": ["addon.cc", "tensor.cc", "ops.cc", "autograd.cc", "optim.cc", "allocator.cc", "gelu.cc", "silu_mul.cc", "attention.cc", "prefix_attention.cc", "checkpoint.cc", "kernels.cc", "rms_norm.cc", "rope.cc", "distributed.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node libtorch.mjs include)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=<!(node -p \"process.env.FGRPO_CXX_STD || 'c++17'\")", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations", "<!@(node libtorch.mjs cflags)"],
      "libraries": ["-L<!(node libtorch.mjs libdir)", "-Wl,-rpath,<!(node libtorch.mjs libdir)", "<!@(node libtorch.mjs libs)", "-ldl"]
    }
  ]
}
