#!/usr/bin/env bash
# Compiles the test contracts with the pinned AssemblyScript and massa-as-sdk (tests/sc/node_modules,
# installed by scripts/setup.sh) into OUT_DIR (default tests/sc/wasm): probe, deployer, and the
# MRC20 example token of @massalabs/sc-standards compiled straight from the package.
# Exit 77 if node or the npm packages are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/wasm}
command -v node >/dev/null 2>&1 || { echo "build.sh: node not found" >&2; exit 77; }
asc=$here/node_modules/assemblyscript/bin/asc.js
[ -f "$asc" ] || { echo "build.sh: $asc missing (run scripts/setup.sh)" >&2; exit 77; }
mkdir -p "$out"
cd "$here"
compile() {
  node "$asc" "$1" --config asconfig.json --target release -o "$out/$2.wasm"
  rm -f "$out/$2.js" "$out/$2.d.ts" # the JS bindings asconfig asks for are not needed here
}
compile assembly/probe.ts probe
compile assembly/deployer.ts deployer
compile node_modules/@massalabs/sc-standards/assembly/contracts/MRC20/example/MRC20.ts mrc20
