#!/usr/bin/env python3
"""Black-box tests of `weft vm invoke`: result formatting (TYPE:VALUE, unsigned decimal of the
bits), gas used on stderr, exit statuses (0 ok, 2 invalid/unlinkable/usage, 3 trap with the spec's
trap text, 4 out of gas), the spectest import module and --features.

The modules are tests/vm/wat/*.wat assembled with wabt's wat2wasm into a temporary directory; the
test exits 77 (ctest: skipped, with a message) when wat2wasm is not installed.

Usage: test_invoke.py WEFT_BINARY WAT_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

WEFT, WAT_DIR = sys.argv[1], sys.argv[2]
failures = []


def run(*args):
    p = subprocess.run([WEFT, "vm", "invoke", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


def expect(name, args, rc, stdout=None, stderr_has=None, gas=None):
    got_rc, out, err = run(*args)
    check(name, got_rc == rc, f"exit {got_rc}, expected {rc} (stderr: {err.strip()!r})")
    if stdout is not None:
        check(name, out == stdout, f"stdout {out!r}, expected {stdout!r}")
    if stderr_has is not None:
        check(name, stderr_has in err, f"stderr {err!r} lacks {stderr_has!r}")
    if gas is not None:
        check(name, f"gas used: {gas}\n" in err, f"stderr {err!r} lacks gas used: {gas}")


def main():
    if shutil.which("wat2wasm") is None:
        print("SKIPPED: wat2wasm not installed (Debian package wabt; scripts/setup.sh installs it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="weft-vm-invoke-")
    try:
        mods = {}
        for f in sorted(os.listdir(WAT_DIR)):
            if f.endswith(".wat"):
                out = os.path.join(tmp, f[:-4] + ".wasm")
                subprocess.run(["wat2wasm", os.path.join(WAT_DIR, f), "-o", out], check=True)
                mods[f[:-4]] = out
        inv = mods["invoke"]
        # results: unsigned decimal of the bits, one TYPE:VALUE per line; gas: 23 per operator
        expect("add", [inv, "add", "i32:2", "i32:40"], 0, "i32:42\n", gas=4 * 23)
        expect("neg1", [inv, "neg1"], 0, "i32:4294967295\n")
        expect("add negative", [inv, "add", "i32:-5", "i32:0x3"], 0, "i32:4294967294\n")
        expect("mul64", [inv, "mul64", "i64:-2", "i64:3"], 0, "i64:18446744073709551610\n")
        expect("half", [inv, "half", "f32:1077936128"], 0, "f32:1069547520\n")  # 3.0 → 1.5
        expect("sqrt", [inv, "sqrt", "f64:4611686018427387904"], 0,
               "f64:4609047870845172685\n")  # sqrt(2.0)
        expect("spectest global", [inv, "g"], 0, "i32:666\n")
        expect("no results", [inv, "nothing"], 0, "", gas=23)
        # traps: exit 3 and the spec's trap text
        expect("div overflow", [inv, "div", "i32:-2147483648", "i32:-1"], 3, "",
               "integer overflow")
        expect("div zero", [inv, "div", "i32:1", "i32:0"], 3, "", "integer divide by zero")
        expect("unreachable", [inv, "boom"], 3, "", "unreachable")
        expect("oob", [inv, "oob"], 3, "", "out of bounds memory access")
        expect("start trap", [mods["start_trap"], "f"], 3, "", "unreachable")
        # out of gas: exit 4, all the gas is used
        expect("spin", [inv, "spin", "--gas", "1000"], 4, "", "out of gas", gas=1000)
        expect("add short", [inv, "add", "i32:1", "i32:2", "--gas", "91"], 4, "", gas=91)
        expect("add exact", [inv, "add", "i32:1", "i32:2", "--gas", "92"], 0, "i32:3\n", gas=92)
        # invalid, malformed, unlinkable, feature off: exit 2 with a named error
        bad = os.path.join(tmp, "bad.wasm")
        with open(bad, "wb") as f:  # () -> i32 with an empty body: type mismatch
            f.write(bytes.fromhex("0061736d01000000" "010501600001 7f".replace(" ", "")
                                  + "03020100" "0a040102000b"))
        expect("invalid", [bad, "f"], 2, "", "E_VM_INVALID")
        junk = os.path.join(tmp, "junk.wasm")
        with open(junk, "wb") as f:
            f.write(b"\0asm\x01\0\0\0\x01\x05")
        expect("malformed", [junk, "f"], 2, "", "E_VM_MALFORMED")
        expect("unlinkable", [mods["unlinkable"], "f"], 2, "", "E_VM_UNLINKABLE")
        expect("multi off", [mods["multi"], "pair", "i32:5"], 2, "", "E_VM_FEATURE")
        expect("multi on", [mods["multi"], "pair", "i32:5", "--features", "multi-value"], 0,
               "i32:5\ni64:6\n")
        expect("multi all", [mods["multi"], "pair", "i32:7", "--features", "all"], 0,
               "i32:7\ni64:8\n")
        # usage errors
        expect("no export", [inv, "missing"], 2, "", "E_NOT_FOUND")
        expect("bad arg", [inv, "add", "x:1", "i32:2"], 2, "", "E_USAGE")
        expect("arg count", [inv, "add", "i32:1"], 2, "", "E_USAGE")
        expect("arg type", [inv, "add", "i64:1", "i32:1"], 2, "", "E_USAGE")
        expect("i32 range", [inv, "add", "i32:4294967296", "i32:1"], 2, "", "E_USAGE")
        expect("bad gas", [inv, "add", "i32:1", "i32:1", "--gas", "-3"], 2, "", "E_USAGE")
        expect("bad features", [inv, "add", "i32:1", "i32:1", "--features", "simd"], 2, "",
               "E_USAGE")
        expect("no file", [os.path.join(tmp, "none.wasm"), "f"], 2, "", "E_IO")
        rc, _, _ = subprocess.run([WEFT, "vm"], capture_output=True).returncode, 0, 0
        check("vm usage", rc == 2, f"exit {rc}")
    finally:
        shutil.rmtree(tmp)
    for f in failures:
        print("FAIL", f)
    print(f"{'FAILED' if failures else 'OK'}: weft vm invoke, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
