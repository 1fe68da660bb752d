#!/usr/bin/env bash
# Usage: run_e2e_transfer.sh WEFT — see CMakeLists.txt beside this file.  Skips (exit 77, with a
# message) only when node or massa-web3 is not installed; any other problem fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: e2e_web3 needs Node.js (node not found on PATH; scripts/setup.sh installs it)"
  exit 77
fi
if [ ! -d "$here/node_modules/@massalabs/massa-web3" ]; then
  echo "SKIP: e2e_web3 needs massa-web3 in tests/web3/node_modules (run scripts/setup.sh)"
  exit 77
fi
echo "massa-web3 $(node -p "require('$here/node_modules/@massalabs/massa-web3/package.json').version") against weft"
exec node "$here/e2e_transfer.cjs" "$1"
