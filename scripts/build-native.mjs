// Builds the libtorch addon with node-gyp. Incremental: configures once, then `make` rebuilds
// only what changed, so `npm ci` followed by `npm run build` compiles the C++ a single time.
// FGRPO_SKIP_NATIVE=1 skips the build (for tooling that only needs the TypeScript).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "native");
if (process.env.FGRPO_SKIP_NATIVE === "1") process.exit(0);

function nodeGyp() {
  // npm ships node-gyp; prefer a project-local one, then npm's own copy.
  const require = createRequire(import.meta.url);
  for (const candidate of ["node-gyp/bin/node-gyp.js"]) {
    try {
      return require.resolve(candidate);
    } catch {
      // fall through
    }
  }
  const npmDir = dirname(dirname(process.execPath));
  const bundled = join(npmDir, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (existsSync(bundled)) return bundled;
  throw new Error("node-gyp not found: install it with `npm install -g node-gyp`");
}

// Build against the headers of the running Node when they are installed beside it, so no header
// download is needed (the build machines have no internet).
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

function run(args) {
  const jobs = process.env.JOBS ?? "max";
  const r = spawnSync(process.execPath, [nodeGyp(), ...args, ...nodedirArgs(), `--jobs=${jobs}`], { cwd: native, stdio: "inherit", env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const configured = existsSync(join(native, "build", "Makefile"));
const stamp = join(native, "build", "config.gypi");
if (!configured || !existsSync(stamp) || process.env.LIBTORCH_RECONFIGURE === "1") run(["configure"]);
run(["build"]);
