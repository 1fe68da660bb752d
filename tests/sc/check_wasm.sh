#!/usr/bin/env bash
# Rebuilds the test contracts from source with the pinned npm packages (build.sh) into OUT_DIR and
# checks that they are byte for byte the .wasm files committed in tests/sc/wasm, which the unit
# tests run.  Exit 77 (skipped) if node or the npm packages are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: check_wasm.sh OUT_DIR}
rm -rf "$out"
set +e
"$here/build.sh" "$out"
rc=$?
set -e
[ $rc -eq 0 ] || exit $rc
status=0
for f in "$here"/wasm/*.wasm; do
  n=$(basename "$f")
  if cmp -s "$f" "$out/$n"; then
    echo "sc_contracts: $n identical ($(stat -c %s "$f") bytes)"
  else
    echo "sc_contracts: $n differs from the committed build (rebuild with tests/sc/build.sh)" >&2
    status=1
  fi
done
exit $status
