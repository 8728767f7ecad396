#!/usr/bin/env bash
# Installs everything fgrpo needs on a fresh Debian machine and builds it. Idempotent: packages
# already present are not reinstalled, and the native build is incremental.
#   - Debian packages: libtorch-dev + libopenblas-dev (the tensor engine), libgloo-dev (the
#     headers of the Gloo backend libtorch links, for data-parallel training), a C++ toolchain,
#     chromium (the report's browser test)
#   - npm dependencies (npm ci), the libtorch addon and the TypeScript (npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in libtorch-dev libopenblas-dev libgloo-dev g++ make python3 chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${need[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
npm run build
