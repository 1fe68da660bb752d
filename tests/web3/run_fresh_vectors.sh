#!/usr/bin/env bash
# Usage: run_fresh_vectors.sh WEFT PYTHON TEST_CLI_PY — see CMakeLists.txt beside this file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weft=$1 python=$2 test_cli=$3
if ! command -v node >/dev/null 2>&1 || [ ! -d "$here/node_modules/@massalabs/massa-web3" ]; then
  echo "SKIP: massa-web3 not installed in tests/web3/node_modules (run scripts/setup.sh)"
  exit 77
fi
seed=${WEFT_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "massa-web3 vectors, seed $seed (replay with WEFT_TEST_SEED=$seed)"
out=$(mktemp /tmp/weft-web3-XXXXXX.json)
trap 'rm -f "$out"' EXIT
node "$here/gen_vectors.cjs" "$seed" 60 77658366 > "$out"
"$python" "$test_cli" "$weft" "$out"
# a second chain id: the digest, id and signature must follow it
node "$here/gen_vectors.cjs" "$((seed + 1))" 20 77658377 > "$out"
"$python" "$test_cli" "$weft" "$out"
