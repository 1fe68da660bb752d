#!/usr/bin/env python3
"""Black-box tests of `weft key` and `weft op` against shared/vectors/massa-formats.json
(or another vectors file of the same shape given as the second argument).

Every key and operation vector is run through the real binary: key show must give the vector's
strings; op inspect must decode, hash and check the signature; op sign must reproduce massa-web3's
signature.  Malformed input must fail with exit status 2 and a named error on stderr.
Exit 77 (skip, reported by ctest) when shared/ is absent."""
import json
import os
import subprocess
import sys

WEFT = sys.argv[1]
failures = []
checks = 0


def run(*args):
    p = subprocess.run([WEFT, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def jrun(*args):
    rc, out, err = run(*args, "--json")
    check(rc == 0, f"{args[:2]} exit {rc}: {err.strip()}")
    return json.loads(out) if rc == 0 else {}


def expect_error(name, *args):
    rc, out, err = run(*args)
    check(rc == 2 and f"weft: {name}:" in err,
          f"{' '.join(args)[:80]}: want exit 2 and {name}, got {rc} {err.strip()!r}")


if len(sys.argv) > 2:  # vectors made elsewhere, e.g. freshly by massa-web3 (tests/web3)
    vec_path = sys.argv[2]
else:
    shared = os.environ.get("WEFT_SHARED") or os.environ.get("WEFT_SHARED_DEFAULT", "../shared")
    vec_path = os.path.join(shared, "vectors", "massa-formats.json")
if not os.path.exists(vec_path):
    print(f"SKIP: {vec_path} not found (set WEFT_SHARED) — CLI vectors not checked")
    sys.exit(77)
vec = json.load(open(vec_path))
chain = str(vec["chain_id"])
seeds = {k["public_key"]: k for k in vec["keys"]}

for k in vec["keys"]:
    j = jrun("key", "show", k["secret_key"])
    for f in ("secret_key", "public_key", "address", "public_key_bytes", "address_bytes"):
        check(j.get(f) == k[f], f"key show {k['secret_key']}: {f}")
    t32 = k.get("thread_t32", int(k["address_bytes"][4:6], 16) >> 3)
    check(j.get("thread") == t32, f"key show thread {k['secret_key']}")
    j4 = jrun("key", "show", k["secret_key"], "--thread-count", "4")
    check(j4.get("thread") == t32 >> 3, "thread for T=4")

for o in vec["operations"]:
    base = ["--chain-id", chain, "--content", o["serialized_content"]]
    j = jrun("op", "inspect", "--public-key", o["creator_public_key"], *base,
             "--signature", o["signature"])
    check(j.get("id") == o["operation_id"], f"inspect id {o['operation_id']}")
    check(j.get("signed_digest") == o["signed_digest"], f"inspect digest {o['operation_id']}")
    check(j.get("signature_valid") is True, f"inspect signature {o['operation_id']}")
    check(j.get("type") == o["type"] and j.get("fee") == o["fee"]
          and j.get("expire_period") == o["expire_period"], f"inspect fields {o['operation_id']}")
    if o["type"] == 0:
        whole, _, frac = o["amount"].partition(".")
        nano = int(whole) * 10**9 + int((frac + "0" * 9)[:9])
        check(j.get("recipient") == o["recipient"] and j.get("amount") == str(nano),
              f"inspect transaction fields {o['operation_id']}")
    if o["type"] in (1, 2):
        check(j.get("roll_count") == o["roll_count"], f"inspect roll_count {o['operation_id']}")
    # a signature from another operation does not verify
    other = next(x for x in vec["operations"] if x["signature"] != o["signature"])
    j = jrun("op", "inspect", "--public-key", o["creator_public_key"], *base,
             "--signature", other["signature"])
    check(j.get("signature_valid") is False, f"inspect wrong signature {o['operation_id']}")
    # signing with the creator's key reproduces massa-web3's signature
    sk = seeds[o["creator_public_key"]]["secret_key"]
    j = jrun("op", "sign", "--secret-key", sk, *base)
    check(j.get("signature") == o["signature"] and j.get("id") == o["operation_id"]
          and j.get("signature_bytes") == o["signature_bytes"], f"sign {o['operation_id']}")

# readable (non-JSON) output carries the same values
rc, out, _ = run("key", "show", vec["keys"][0]["secret_key"])
check(rc == 0 and vec["keys"][0]["address"] in out, "key show readable output")
rc, out, _ = run("key", "new")
check(rc == 0 and "AU" in out, "key new readable output")
j = jrun("key", "new")
j2 = jrun("key", "show", j.get("secret_key", ""))
check(j2.get("address") == j.get("address"), "key new then key show")

# malformed input: exit 2, named error
k0, o0 = vec["keys"][0], vec["operations"][0]
sk = k0["secret_key"]
bad_sum = sk[:-1] + ("2" if sk[-1] != "2" else "3")
expect_error("E_CHECKSUM", "key", "show", bad_sum)
expect_error("E_PREFIX", "key", "show", k0["public_key"])
expect_error("E_BASE58", "key", "show", "S0OIl")
expect_error("E_USAGE", "key", "show")
expect_error("E_USAGE", "key", "frobnicate")
expect_error("E_USAGE", "nosuchcommand")
expect_error("E_INVAL", "key", "new", "--thread-count", "3")
pk = o0["creator_public_key"]
c = o0["serialized_content"]
expect_error("E_TRAILING", "op", "inspect", "--chain-id", chain, "--public-key", pk, "--content", c + "00")
expect_error("E_TRUNCATED", "op", "inspect", "--chain-id", chain, "--public-key", pk, "--content", c[:-2])
expect_error("E_HEX", "op", "inspect", "--chain-id", chain, "--public-key", pk, "--content", c + "0")
expect_error("E_VARINT_OVERLONG", "op", "inspect", "--chain-id", chain, "--public-key", pk,
             "--content", "8000" + c[2:])
expect_error("E_OP_TYPE", "op", "inspect", "--chain-id", chain, "--public-key", pk, "--content", "000009")
expect_error("E_INVAL", "op", "inspect", "--chain-id", "-5", "--public-key", pk, "--content", c)
expect_error("E_RANGE", "op", "inspect", "--chain-id", "18446744073709551616", "--public-key", pk,
             "--content", c)
expect_error("E_PREFIX", "op", "inspect", "--chain-id", chain, "--public-key", k0["address"], "--content", c)
expect_error("E_LENGTH", "op", "inspect", "--chain-id", chain, "--public-key", pk, "--content", c,
             "--signature", "1Wh4bh")
expect_error("E_USAGE", "op", "sign", "--chain-id", chain, "--content", c)
expect_error("E_USAGE", "op", "inspect", "--chain-id", chain, "--public-key", pk)
expect_error("E_CHECKSUM", "op", "sign", "--chain-id", chain, "--secret-key", bad_sum, "--content", c)

print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
