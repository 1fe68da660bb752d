#!/usr/bin/env bash
# Installs every Debian and npm package weft's build, tests and tools need — only what is missing.
# Idempotent: a second run installs nothing and prints one line.
# Usage: scripts/setup.sh            (run as root, or with sudo available)
set -euo pipefail

# Build toolchain, libraries (DESIGN.md §7), test and conformance tools.
DEB_PACKAGES=(
  build-essential cmake clang libclang-rt-14-dev llvm pkg-config
  libsodium-dev librust-blake3-dev liblmdb-dev libuv1-dev libmicrohttpd-dev libjansson-dev
  libcurl4-openssl-dev
  libcmocka-dev b3sum wabt binaryen python3
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm (for AssemblyScript contracts and massa-web3 client tests): the image may carry
# its own build of node with npm bundled; only fall back to Debian's when there is none.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# npm packages: massa-web3 as the test oracle (tests/web3) and the AssemblyScript toolchain for the
# test contracts (tests/sc), installed from their lock files when
# absent or older than the lock.
npm_dirs=(tests/web3 tests/sc)
install_npm() {
  local top d
  top=$(cd "$(dirname "$0")/.." && pwd)
  for d in "${npm_dirs[@]}"; do
    if [ ! -d "$top/$d/node_modules" ] || [ "$top/$d/package-lock.json" -nt "$top/$d/node_modules" ]; then
      echo "setup: npm ci in $d"
      (cd "$top/$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      touch "$top/$d/node_modules"
    fi
  done
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#DEB_PACKAGES[@]} Debian packages present"
  install_npm
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this script as root (or install sudo) to install them" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm
echo "setup: done"
