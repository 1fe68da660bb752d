#!/usr/bin/env python3
"""Differential test: random valid modules from binaryen (`wasm-opt -ttf`, contract feature set:
MVP + sign-extension + non-trapping float-to-int + bulk memory + mutable globals; --denan so that
NaN payloads, which engines may choose freely, never reach results; --remove-imports so that no
host functions are needed) run through weft (vm_run_exports) and through wabt's
`wasm-interp --run-all-exports`; every export's results and traps must agree.

Bounded and seeded: COUNT modules from a seed printed at the start (WEFT_TEST_SEED replays it).
A disagreement saves the module under the build tree and fails the test.  Exits 77 (ctest:
skipped, with a message) when wasm-opt or wasm-interp is not installed.

Usage: test_differential.py VM_RUN_EXPORTS OUT_DIR [COUNT]
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

RUNNER, OUT = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 40
FEATURES = ["--mvp-features", "--enable-sign-ext", "--enable-nontrapping-float-to-int",
            "--enable-bulk-memory", "--enable-mutable-globals"]
WABT_FEATURES = ["--disable-multi-value", "--disable-reference-types", "--disable-simd"]

# trap texts of both engines → one class
TRAPS = [
    ("unreachable", "unreachable"),
    ("out of bounds memory access", "memory"),
    ("out of bounds table access", "table"),
    ("integer divide by zero", "div0"),
    ("integer overflow", "overflow"),
    ("invalid conversion to integer", "conversion"),
    ("undefined element", "undefined"),
    ("undefined table index", "undefined"),
    ("uninitialized element", "uninit"),
    ("uninitialized table element", "uninit"),
    ("indirect call type mismatch", "signature"),
    ("indirect call signature mismatch", "signature"),
    ("call stack exhausted", "stack"),
]


def trap_class(msg):
    for prefix, cls in TRAPS:
        if msg.startswith(prefix):
            return cls
    return "other:" + msg


def normalize(text):
    """Lines "name() => ..." with trap messages reduced to their class."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(.*\(\)) =>(.*)$", line)
        if not m:
            continue
        rest = m.group(2).strip()
        if rest.startswith("error:"):
            rest = "trap " + trap_class(rest[len("error:"):].strip())
        out.append(f"{m.group(1)} => {rest}")
    return out


def main():
    for tool in ("wasm-opt", "wasm-interp"):
        if shutil.which(tool) is None:
            print(f"SKIPPED: {tool} not installed (Debian packages binaryen and wabt; "
                  "scripts/setup.sh installs them)")
            return 77
    seed = int(os.environ.get("WEFT_TEST_SEED", random.SystemRandom().randrange(1 << 63)))
    print(f"test seed: {seed} (replay with WEFT_TEST_SEED={seed})")
    rng = random.Random(seed)
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="weft-vm-diff-")
    compared = exports = skipped = 0
    failures = []
    try:
        for i in range(COUNT):
            raw = os.path.join(tmp, f"{i}.bin")
            wasm = os.path.join(tmp, f"{i}.wasm")
            with open(raw, "wb") as f:
                f.write(bytes(rng.getrandbits(8) for _ in range(rng.randrange(512, 8192))))
            gen = subprocess.run(["wasm-opt", raw, "-ttf", *FEATURES, "--denan", "--remove-imports",
                                  "-o", wasm], capture_output=True, timeout=60)
            if gen.returncode != 0:
                skipped += 1
                continue
            try:
                ref = subprocess.run(["wasm-interp", wasm, "--run-all-exports", *WABT_FEATURES],
                                     capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                skipped += 1
                continue
            if "error initializing module" in ref.stdout + ref.stderr or ref.returncode != 0:
                skipped += 1  # not instantiable in the reference: nothing to compare
                continue
            ours = subprocess.run([RUNNER, wasm], capture_output=True, text=True, timeout=120)
            a, b = normalize(ref.stdout), normalize(ours.stdout)
            compared += 1
            exports += len(a)
            if ours.returncode != 0 or a != b:
                keep = os.path.join(OUT, f"diff-{seed}-{i}.wasm")
                shutil.copy(wasm, keep)
                diff = [f"    wasm-interp: {x!r}\n    weft:        {y!r}"
                        for x, y in zip(a + [""] * len(b), b + [""] * len(a)) if x != y][:5]
                failures.append(f"module {i} (saved as {keep}):\n" + "\n".join(diff) +
                                (f"\n    weft stderr: {ours.stderr.strip()}" if ours.stderr else ""))
    finally:
        shutil.rmtree(tmp)
    for f in failures:
        print("FAIL", f)
    print(f"{'FAILED' if failures else 'OK'}: {compared} modules compared ({exports} export calls), "
          f"{skipped} generated modules skipped (not generated or not instantiable by wasm-interp), "
          f"{len(failures)} disagreements")
    if compared == 0:
        print("FAILED: no module was compared")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
