#!/bin/sh
# Converts the official core spec tests (../shared/wasm-testsuite/*.wast) with wabt's wast2json
# into the build tree and runs vm_spec_runner over them three times: with every feature (the
# spec-test profile), with the contract profile (multi-value and reference types off: the modules
# that need them are skipped and counted), and with every feature but gas metering off (the
# translation the benchmarks use for their unmetered figures).  Exit 77 (ctest: skipped) when the suite or wast2json is
# missing — visibly, never a silent pass.
# Usage: run_spec.sh RUNNER OUTDIR SHARED_DEFAULT KNOWN_FAILURES
set -u
runner=$1 out=$2 shared=${WEFT_SHARED:-$3} known=$4
suite=$shared/wasm-testsuite
if [ ! -d "$suite" ]; then
    echo "SKIPPED: spec test suite not found at $suite (set WEFT_SHARED to the shared/ folder)"
    exit 77
fi
if ! command -v wast2json >/dev/null 2>&1; then
    echo "SKIPPED: wast2json not installed (Debian package wabt; scripts/setup.sh installs it)"
    exit 77
fi
mkdir -p "$out"
for f in "$suite"/*.wast; do
    b=$(basename "$f" .wast)
    case $b in simd_*) continue ;; esac # SIMD is not part of weft's profile
    if [ ! -f "$out/$b.json" ] || [ "$f" -nt "$out/$b.json" ]; then
        wast2json "$f" -o "$out/$b.json" || { echo "wast2json failed on $f"; exit 1; }
    fi
done
echo "== all features (spec-test profile) =="
"$runner" --features=all --known-failures "$known" "$out"/*.json || exit 1
echo "== contract profile (multi-value and reference types off) =="
"$runner" --features=none --known-failures "$known" "$out"/*.json || exit 1
echo "== all features, gas metering off (the benchmarks' unmetered code) =="
"$runner" --features=all --no-metering --known-failures "$known" "$out"/*.json || exit 1
