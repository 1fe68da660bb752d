#!/bin/sh
# weft's own interpreter tests (tests/vm/wast/*.wast, spec-test format): converted with wabt's
# wast2json into the build tree and run by vm_spec_runner with every feature metered and unmetered,
# and with the contract profile.  Exit 77 (ctest: skipped) when wast2json is missing.
# Usage: run_wast.sh RUNNER OUTDIR WASTDIR
set -u
runner=$1 out=$2 dir=$3
if ! command -v wast2json >/dev/null 2>&1; then
    echo "SKIPPED: wast2json not installed (Debian package wabt; scripts/setup.sh installs it)"
    exit 77
fi
mkdir -p "$out"
for f in "$dir"/*.wast; do
    b=$(basename "$f" .wast)
    wast2json "$f" -o "$out/$b.json" || { echo "wast2json failed on $f"; exit 1; }
done
"$runner" --features=all "$out"/*.json || exit 1
"$runner" --features=all --no-metering "$out"/*.json || exit 1
"$runner" --features=none "$out"/*.json || exit 1
