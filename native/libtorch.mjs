// Locates the libtorch that the addon compiles and links against, and prints the pieces
// binding.gyp asks for. Where it looks, in order:
//   1. $LIBTORCH: a libtorch root with include/ and lib/ (an official zip, or
//      <site-packages>/torch from a pip PyTorch install);
//   2. Debian's libtorch-dev (headers in /usr/include, libraries in /usr/lib/<multiarch>).
// Usage: node libtorch.mjs include|libdir|libs|cflags|summary
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { execSync } from "node:child_process";
import { join } from "node:path";

function debianLibDir() {
  let arch = "x86_64-linux-gnu";
  try {
    arch = execSync("gcc -print-multiarch", { encoding: "utf8" }).trim() || arch;
  } catch {
    // keep the common default
  }
  return `/usr/lib/${arch}`;
}

function locate() {
  const root = process.env.LIBTORCH;
  if (root) {
    const lib = join(root, "lib");
    const include = join(root, "include");
    if (!existsSync(join(include, "ATen", "ATen.h"))) {
      throw new Error(`LIBTORCH=${root}: ${include}/ATen/ATen.h not found; point LIBTORCH at a folder with include/ and lib/`);
    }
    return { include: [include, join(include, "torch", "csrc", "api", "include")], libdir: lib, cmake: join(root, "share", "cmake", "Torch", "TorchConfig.cmake") };
  }
  const libdir = debianLibDir();
  if (!existsSync("/usr/include/ATen/ATen.h")) {
    throw new Error("libtorch not found: install Debian's libtorch-dev (apt-get install libtorch-dev libopenblas-dev) or set LIBTORCH=/path/to/libtorch");
  }
  return { include: ["/usr/include", "/usr/include/torch/csrc/api/include"], libdir, cmake: join(libdir, "cmake", "Torch", "TorchConfig.cmake") };
}

/** The C++ ABI flag libtorch was built with; mixing ABIs fails at link or load time. */
function abiFlag(cmake) {
  if (existsSync(cmake)) {
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(cmake, "utf8"));
    if (m) return `-D_GLIBCXX_USE_CXX11_ABI=${m[1]}`;
  }
  return "-D_GLIBCXX_USE_CXX11_ABI=1";
}

function libs(libdir) {
  const have = new Set(readdirSync(libdir));
  const out = ["-ltorch", "-ltorch_cpu", "-lc10"];
  // The CUDA kernels register themselves from static initialisers: force the link even though
  // no symbol of theirs is referenced directly.
  if (have.has("libtorch_cuda.so")) out.push("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed");
  return out;
}

const where = locate();
const what = process.argv[2];
if (what === "include") console.log(where.include.join(" "));
else if (what === "libdir") console.log(where.libdir);
else if (what === "libs") console.log(libs(where.libdir).join(" "));
else if (what === "cflags") console.log([abiFlag(where.cmake), existsSync(join(where.libdir, "libtorch_cuda.so")) ? "-DFGRPO_CUDA=1" : ""].filter(Boolean).join(" "));
else if (what === "summary") console.log(JSON.stringify({ ...where, libs: libs(where.libdir), cflags: abiFlag(where.cmake) }));
else {
  console.error("usage: node libtorch.mjs include|libdir|libs|cflags|summary");
  process.exit(2);
}
