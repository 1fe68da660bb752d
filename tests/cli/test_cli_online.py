#!/usr/bin/env python3
"""End-to-end test of the weft client's online commands against a live one-node devnet.

Starts `weft devnet --detach` (t0 = 3,200 ms: 100 ms slots) and drives it only through the
`weft` binary, checking both --json results and the human output:
  usage errors (exit 2) and an unreachable node (exit 1, a message saying what to do);
  status; wallet new/import/list/show (file mode 0600, secret keys only with --secret, wrong
  password, duplicates); send + op wait until final (progress lines in order), op status;
  balances after two transfers, exact to the nanoMAS (fees and the roll price included);
  rolls buy then stakers; a failing rolls sell (exit 3) and its error event (events --op,
  --emitter); block show of the operation's block; cliques; staking add/list/remove through
  --repo and through --private-rpc/--token-file; op wait timing out (exit 4); the latency
  histograms at /metrics; node stop, after which the node is gone.
Bounded: about 40 s on an idle machine.

usage: test_cli_online.py WEFT
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal

WEFT = sys.argv[1]
T0 = 3200
failures = []
checks = 0
ENV = dict(os.environ)


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def weft(*args, stdin=None, env=None, timeout=120):
    """Runs weft; returns (exit status, stdout, stderr)."""
    p = subprocess.run([WEFT, *args], input=stdin, capture_output=True, text=True,
                       env=env or ENV, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def weft_json(*args, want=0, **kw):
    rc, out, err = weft(*args, "--json", **kw)
    check(rc == want, f"weft {' '.join(args)} --json: exit {rc} (wanted {want}): {err.strip()}")
    try:
        return json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        check(False, f"weft {' '.join(args)} --json: not JSON: {out[:200]}")
        return None


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 — the node is starting
            last = e
        time.sleep(0.2)
    check(False, f"timed out waiting for {what} (last: {last})")
    return None


def mas(s):
    return Decimal(s)


def usage_errors(d):
    """Bad usage and an unreachable node: no devnet needed."""
    bad = [
        (["send"], "usage: weft send"),
        (["send", "--to", "AU1nope", "--amount", "1"], "--to"),
        (["send", "--to", "AU12HBH38QKELqNRgnTsBxHTGsp4bQZh4jqnWg8jNtN86xw6GTQg8", "--amount",
          "1.0000000001"], "--amount"),
        (["balance", "notanaddress"], "not an address"),
        (["op", "wait", "Onope"], "operation id"),
        (["op", "status"], "usage"),
        (["rolls", "buy", "0"], "roll count"),
        (["rolls", "swap", "1"], "usage"),
        (["block", "show"], "usage"),
        (["events", "--final", "--speculative"], "exclude"),
        (["wallet", "frob"], "usage"),
        (["staking", "remove"], "usage"),
        (["status", "--bogus"], "unknown option"),
        (["frobnicate"], "unknown command"),
    ]
    for args, needle in bad:
        rc, out, err = weft(*args)
        check(rc == 2 and needle in err, f"weft {' '.join(args)}: exit {rc} (wanted 2), "
                                         f"stderr {err.strip()!r} lacks {needle!r}")
    rc, out, err = weft("status", "--rpc", "http://127.0.0.1:1")
    check(rc == 1 and "cannot reach" in err and "is weftd running" in err and "--rpc" in err,
          f"unreachable node: exit {rc}, {err.strip()!r}")
    rc, out, err = weft("status", "--repo", os.path.join(d, "no-such-repo"))
    check(rc == 1 and "is weftd running" in err, f"repository without api.json: {rc} {err!r}")
    rc, out, err = weft("node", "stop", "--rpc", "http://127.0.0.1:1")
    check(rc == 2 and "private" in err and "--repo" in err,
          f"node stop without the private API: {rc} {err.strip()!r}")
    rc, out, err = weft("--help")
    check(rc == 0 and "exit status" in out and "--rpc URL" in out, "usage lists exit statuses")


def metrics_hist(url, name):
    """{le: count} and the _count of a histogram from the metrics text."""
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    buckets = {m.group(1): int(m.group(2)) for m in
               re.finditer(rf'^{name}_bucket{{le="([^"]+)"}} (\d+)$', text, re.M)}
    count = re.search(rf"^{name}_count (\d+)$", text, re.M)
    return buckets, int(count.group(1)) if count else None


def main():
    d = tempfile.mkdtemp(prefix="weft-cli-")
    ENV["HOME"] = d  # the default wallet path must not be the user's
    ENV.pop("XDG_CONFIG_HOME", None)
    ENV.pop("WEFT_RPC", None)
    ENV["WEFT_WALLET_PASSWORD"] = "correct horse"
    dn = os.path.join(d, "dn")
    try:
        usage_errors(d)
        # 128-period cycles: a starved machine never lives to cycle 3 (tests/e2e/netlib.py)
        p = subprocess.run([WEFT, "devnet", "--nodes", "1", "--dir", dn, "--t0", str(T0),
                            "--periods-per-cycle", "128", "--accounts", "2", "--detach",
                            "--genesis-delay", "1500"],
                           capture_output=True, text=True, timeout=60, env=ENV)
        if not check(p.returncode == 0, f"weft devnet exit {p.returncode}: {p.stderr}"):
            return
        dev = json.load(open(os.path.join(dn, "devnet.json")))
        repo = dev["nodes"][0]["repo"]
        pid = dev["nodes"][0]["pid"]
        a0, a1 = dev["accounts"][0], dev["accounts"][1]
        net = ["--devnet", dn]
        wal = ["--wallet", os.path.join(d, "w", "wallet.json")]

        # status: JSON result and human lines
        st = wait_for(lambda: (lambda s: s if s and s["last_slot"] else None)(
            weft_json("status", *net)), 30, "a current slot")
        if not st:
            return
        check(st["chain_id"] == dev["chain_id"], "status --json: chain_id of devnet.json")
        rc, out, _ = weft("status", "--repo", repo)
        check(rc == 0 and re.search(rf"^chain id\s+{dev['chain_id']}$", out, re.M) and
              re.search(r"^slot\s+\d+:\d+\s+cycle \d+$", out, re.M),
              f"status (human): {out}")
        roll_price = mas(st["config"]["roll_price"])

        # wallet: import from stdin and from an argument, new, list, show, errors
        rc, out, err = weft("wallet", "import", *wal, stdin=a0["secret_key"] + "\n")
        check(rc == 0 and a0["address"] in out and a0["secret_key"] not in out,
              f"wallet import (stdin): {rc} {out} {err}")
        w = weft_json("wallet", "import", a1["secret_key"], *wal)
        check(w and w["address"] == a1["address"], f"wallet import (argument): {w}")
        new = weft_json("wallet", "new", *wal)
        check(new and new["address"].startswith("AU") and "secret_key" not in new,
              f"wallet new: {new}")
        wpath = os.path.join(d, "w", "wallet.json")
        mode = stat.S_IMODE(os.stat(wpath).st_mode)
        check(mode == 0o600, f"wallet file mode {oct(mode)}")
        text = open(wpath).read()
        check(a0["secret_key"] not in text and "argon2id13" in text,
              "the wallet file holds no secret key in clear")
        lst = weft_json("wallet", "list", *wal)
        check(lst and [x["address"] for x in lst] == [a0["address"], a1["address"],
                                                       new["address"]], f"wallet list: {lst}")
        rc, out, _ = weft("wallet", "list", *wal)
        check(rc == 0 and len(out.strip().splitlines()) == 3 and a0["secret_key"] not in out
              and a1["secret_key"] not in out, f"wallet list (human): {out}")
        sh = weft_json("wallet", "show", a0["address"], *wal)
        check(sh and sh["public_key"].startswith("P") and "secret_key" not in sh,
              f"wallet show: {sh}")
        sh = weft_json("wallet", "show", a0["address"], "--secret", *wal)
        check(sh and sh.get("secret_key") == a0["secret_key"], "wallet show --secret")
        bad_env = dict(ENV, WEFT_WALLET_PASSWORD="wrong")
        rc, out, err = weft("wallet", "show", a0["address"], "--secret", *wal, env=bad_env)
        check(rc == 2 and "wrong password" in err and a0["secret_key"] not in out + err,
              f"wrong password: {rc} {err}")
        rc, _, err = weft("wallet", "import", a0["secret_key"], *wal)
        check(rc == 2 and "already" in err, f"duplicate import: {rc} {err}")
        rc, _, err = weft("send", "--to", a1["address"], "--amount", "1", *net, *wal)
        check(rc == 2 and "--from" in err, f"send with several accounts and no --from: {err}")
        # the default wallet path is under HOME
        rc, out, _ = weft("wallet", "new")
        check(rc == 0 and os.path.exists(os.path.join(d, ".config", "weft", "wallet.json")),
              "wallet new without --wallet writes ~/.config/weft/wallet.json")

        bal0 = {x["address"]: x for x in weft_json(
            "balance", a0["address"], a1["address"], *net)}
        check(set(bal0) == {a0["address"], a1["address"]}, "balance of two addresses")

        # three operations at once: a transfer (fee 0.01), a roll buy, a roll sell that fails
        t1 = weft_json("send", "--from", a0["address"], "--to", new["address"], "--amount",
                       "12.5", "--fee", "0.01", *net, *wal)
        r1 = weft_json("rolls", "buy", "1", "--from", a0["address"], *net, *wal)
        s1 = weft_json("rolls", "sell", "5", "--from", a1["address"], *net, *wal)
        if not (t1 and r1 and s1):
            return
        check(t1["operation_id"].startswith("O") and t1["fee"] == "0.01" and
              t1["from"] == a0["address"], f"send --json: {t1}")
        fee = mas(st["minimal_fees"])
        check(r1["fee"] == str(st["minimal_fees"]), "the default fee is the node's minimal fee")

        rc, out, err = weft("op", "wait", t1["operation_id"], "--timeout", "60", *net)
        lines = out.strip().splitlines()
        check(rc == 0 and lines and "final: succeeded" in lines[-1],
              f"op wait: exit {rc}, {out} {err}")
        order = [k for k in ("in block", "speculatively executed", "final")
                 if any(k in ln for ln in lines)]
        check(order == ["in block", "speculatively executed", "final"],
              f"op wait progress in order: {lines}")
        info = weft_json("op", "status", t1["operation_id"], *net)
        check(info and info["is_operation_final"] is True and info["op_exec_status"] is True,
              f"op status --json: {info}")
        rc, out, _ = weft("op", "status", t1["operation_id"], *net)
        check(rc == 0 and re.search(r"^status\s+final: succeeded$", out, re.M),
              f"op status (human): {out}")
        fin = weft_json("op", "wait", r1["operation_id"], "--timeout", "60", *net)
        check(fin and fin["op_exec_status"] is True, f"rolls buy final: {fin}")
        rc, out, err = weft("op", "wait", s1["operation_id"], "--timeout", "60", *net)
        check(rc == 3 and "final: failed" in out, f"failing rolls sell: exit {rc} {out} {err}")

        # a transfer from the new account, sent and followed in one command
        fin = weft_json("send", "--from", new["address"], "--to", a1["address"], "--amount", "2",
                        "--wait", "--timeout", "60", *net, *wal)
        check(fin and fin["is_operation_final"] and fin["op_exec_status"] is True,
              f"send --wait --json: {fin}")

        # balances, exact
        bal = {x["address"]: x for x in weft_json(
            "balance", a0["address"], a1["address"], new["address"], *net)}
        want0 = mas(bal0[a0["address"]]["final_balance"]) - Decimal("12.5") - Decimal("0.01") \
            - roll_price - fee
        want1 = mas(bal0[a1["address"]]["final_balance"]) + 2 - 2 * fee
        check(mas(bal[a0["address"]]["final_balance"]) == want0,
              f"sender's balance {bal[a0['address']]['final_balance']} (wanted {want0})")
        check(mas(bal[a1["address"]]["final_balance"]) == want1,
              f"recipient's balance {bal[a1['address']]['final_balance']} (wanted {want1})")
        check(mas(bal[new["address"]]["final_balance"]) == Decimal("10.5") - fee,
              f"new account's balance {bal[new['address']]['final_balance']}")
        rc, out, _ = weft("balance", "--wallet", os.path.join(d, "w", "wallet.json"), *net)
        check(rc == 0 and re.search(rf"^{new['address']}\s+{10.5 - float(fee):g}\s", out, re.M),
              f"balance of the wallet's accounts (human): {out}")

        # stakers: the roll bought
        stakers = weft_json("stakers", *net)
        check(stakers and [a0["address"], 1] in stakers, f"stakers: {stakers}")
        rc, out, _ = weft("stakers", *net)
        check(rc == 0 and re.search(rf"^{a0['address']}\s+1$", out, re.M), f"stakers: {out}")

        # block show of the transfer's block
        bid = info["in_blocks"][0]
        blk = weft_json("block", "show", bid, *net)
        check(blk and blk["id"] == bid and
              t1["operation_id"] in blk["content"]["block"]["operations"],
              f"block show --json: {blk and blk['content']['block']['operations']}")
        rc, out, _ = weft("block", "show", bid, *net)
        check(rc == 0 and re.search(r"^status\s+final", out, re.M) and
              f"  {t1['operation_id']}" in out, f"block show (human): {out}")
        rc, _, err = weft("block", "show", t1["operation_id"].replace("O", "B", 1), *net)
        check(rc == 3 and "unknown" in err, f"block show of an unknown id: exit {rc} {err}")

        # cliques
        cl = weft_json("cliques", *net)
        check(cl and any(c["is_blockclique"] for c in cl), f"cliques: {cl}")
        rc, out, _ = weft("cliques", *net)
        check(rc == 0 and "blockclique" in out, f"cliques (human): {out}")

        # events of the failed roll sell
        ev = weft_json("events", "--op", s1["operation_id"], *net)
        check(ev and len(ev) == 1 and ev[0]["context"]["is_error"] is True and
              ev[0]["context"]["origin_operation_id"] == s1["operation_id"],
              f"events --op: {ev}")
        ev = weft_json("events", "--emitter", a1["address"], "--final", *net)
        check(ev and all(e["context"]["is_final"] for e in ev) and
              any(e["context"]["origin_operation_id"] == s1["operation_id"] for e in ev),
              f"events --emitter --final: {ev}")
        rc, out, _ = weft("events", "--op", s1["operation_id"], *net)
        check(rc == 0 and "error" in out and "roll" in out, f"events (human): {out}")
        ev = weft_json("events", "--op", t1["operation_id"], *net)
        check(ev == [], f"no event for a successful transfer: {ev}")

        # unknown operation, a wait that times out
        unknown = bid.replace("B", "O", 1)  # a well-formed id no operation has
        rc, out, _ = weft("op", "status", unknown, *net)
        check(rc == 3 and "unknown" in out, f"op status of an unknown operation: exit {rc}")
        rc, _, err = weft("op", "wait", unknown, "--timeout", "1", *net)
        check(rc == 4 and "--timeout" in err, f"op wait timing out: exit {rc} {err}")

        # staking through the private API: --repo, then --private-rpc + --token-file
        rc, out, err = weft("staking", "add", new["address"], "--repo", repo, *wal)
        check(rc == 0 and new["address"] in out, f"staking add (wallet key): {rc} {out} {err}")
        sl = weft_json("staking", "list", "--repo", repo)
        check(sl and new["address"] in sl and dev["nodes"][0]["staking_address"] in sl,
              f"staking list: {sl}")
        ep = json.load(open(os.path.join(repo, "api.json")))
        priv = ["--private-rpc", ep["private_api"], "--token-file",
                os.path.join(repo, "api.token")]
        rc, out, err = weft("staking", "remove", new["address"], *priv)
        check(rc == 0, f"staking remove: {rc} {err}")
        rc, out, _ = weft("staking", "list", *priv)
        check(rc == 0 and new["address"] not in out and
              dev["nodes"][0]["staking_address"] in out, f"staking list after remove: {out}")
        rc, out, err = weft("staking", "add", *priv, stdin="S1notakey\n")
        check(rc == 2 and "S1notakey" not in err, f"staking add of a bad key: {rc} {err}")
        bad_tok = os.path.join(d, "bad.token")
        with open(bad_tok, "w") as f:
            f.write("0" * 64 + "\n")
        rc, _, err = weft("staking", "list", "--private-rpc", ep["private_api"], "--token-file",
                          bad_tok)
        check(rc == 1 and "-32001" in err and "--repo" in err, f"wrong token: {rc} {err}")

        # latency histograms of the live node
        murl = f"http://{ep['metrics']}/metrics"
        for name in ("weft_execution_latency_seconds", "weft_finality_latency_seconds"):
            b, n = metrics_hist(murl, name)
            vals = list(b.values())
            check(n and n > 0 and b.get("+Inf") == n and vals == sorted(vals),
                  f"{name}: {n} observations, cumulative buckets {b}")
            if n:  # figures, not assertions: the bucket holding the median and the 90th percentile
                q = {p_: next(le for le, c in b.items() if c >= p_ * n) for p_ in (0.5, 0.9)}
                print(f"{name}: {n} blocks, median <= {q[0.5]} s, 90% <= {q[0.9]} s")

        # node stop: the daemon exits, then the node is unreachable
        rc, out, err = weft("node", "stop", "--repo", repo)
        check(rc == 0 and "shutting down" in out, f"node stop: {rc} {out} {err}")
        check(wait_for(lambda: not alive(pid), 20, "the node's exit"), "node stopped")
        rc, _, err = weft("status", *net)
        check(rc == 1 and "cannot reach" in err, f"status after stop: {rc} {err}")
    finally:
        subprocess.run([WEFT, "devnet", "stop", "--dir", dn], capture_output=True, timeout=30)
        if failures:
            lp = os.path.join(dn, "node0", "weftd.log")
            if os.path.exists(lp):
                print(f"--- {lp} (tail)")
                print("".join(open(lp).readlines()[-30:]))
        shutil.rmtree(d, ignore_errors=True)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        r, _ = os.waitpid(pid, os.WNOHANG)
        return r == 0
    except ChildProcessError:
        return True


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"{checks} checks, {len(failures)} failures, {time.time() - t:.1f} s")
    sys.exit(1 if failures else 0)
