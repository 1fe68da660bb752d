#!/usr/bin/env python3
"""End-to-end: a node fed garbage and invalid blocks by a hostile peer bans it and keeps running.

A 3-node devnet (t0 = 3,200 ms).  The test peer (tests/e2e/badpeer, built from src/net's encoders)
connects to node 0's p2p port with a node key of its own, completes the handshake and then, one
mode per connection and a fresh key each time:
  garbage   a frame of an unknown message type;
  oversize  a frame length above max_frame;
  badsig    the header of a block whose signature is invalid (it answers the pull);
  producer  a validly signed block by a key that is not drawn for the slot;
  opshash   a block whose operation ids do not match its header's ops_hash.
Checks for each: the node closes the connection, and the same key is then refused with REFUSE
"banned" (code 3) at the handshake (on loopback a ban is by node id only, so the test can go on
from the same IP).  Also: junk bytes before any handshake get the connection closed; a fresh key
still completes the handshake; get_status counts the bans (banned_peer_count) and so does the
metric weft_banned_peers; no forged block reaches any node; node 0 keeps producing and
finalizing, with the same final blocks as the others; its two devnet peers stay connected
throughout.

usage: test_net_badpeer.py WEFT WEFTD BADPEER
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib  # noqa: E402

T0 = 3200
MODES = ["garbage", "oversize", "badsig", "producer", "opshash"]
BANNED = 3  # NET_REFUSE_BANNED


def badpeer(run, exe, mode, node, genesis, seed=None, wait_ms=15000):
    args = [exe, mode, "--connect", node["p2p"], "--genesis", genesis, "--wait-ms", str(wait_ms)]
    if seed:
        args += ["--key-seed", seed]
    p = subprocess.run(args, capture_output=True, text=True, timeout=wait_ms / 1000 + 30)
    out = p.stdout.strip().splitlines()
    for line in out:
        print("   ", line, flush=True)
    run.check(p.returncode == 0, f"badpeer {mode} exit {p.returncode}: {p.stderr.strip()}")
    res = [ln.split("result: ", 1)[1] for ln in out if "result: " in ln]
    forged = [ln.split("forged block ", 1)[1].split()[0] for ln in out if "forged block " in ln]
    return (res[-1] if res else ""), (forged[0] if forged else None)


def main(run, exe):
    dev = run.devnet(3, t0=T0)
    if not dev:
        return
    nodes = dev["nodes"]
    target = nodes[0]
    url = target["public_api"]
    others = {n["node_id"] for n in nodes[1:]}
    run.note("devnet of 3 nodes started; waiting for 2 final periods and full connectivity")
    if not run.wait_for(lambda: netlib.min_final(nodes) >= 2 and
                        netlib.peers_of(url) >= others, 90, "final period 2, node 0 connected"):
        return
    node0 = run.node_of_repo(target["repo"])
    f0 = netlib.fp_of(url)
    produced0 = netlib.metrics(node0).get("weft_blocks_produced_total", 0)

    r, _ = badpeer(run, exe, "probe", target, dev["genesis"])
    run.check(r == "ready", f"an honest handshake completes (got '{r}')")
    r, _ = badpeer(run, exe, "prejunk", target, dev["genesis"])
    run.check(r.startswith("closed"), f"junk before the handshake: connection closed (got '{r}')")

    for i, mode in enumerate(MODES):
        seed = os.urandom(32).hex()
        run.note(f"mode {mode}")
        r, forged = badpeer(run, exe, mode, target, dev["genesis"], seed)
        run.check(r.startswith("closed"), f"{mode}: the node closed the connection (got '{r}')")
        if forged:
            kept = [i for i, n in enumerate(nodes)
                    if netlib.rpc(n["public_api"], "get_blocks", [[forged]])]
            run.check(not kept, f"{mode}: the forged block {forged} is on no node ({kept})")
        r, _ = badpeer(run, exe, "probe", target, dev["genesis"], seed)
        run.check(r.startswith(f"refused {BANNED} "),
                  f"{mode}: the same node id is refused as banned (got '{r}')")
        peers = netlib.peers_of(url)
        run.check(peers >= others, f"{mode}: node 0 still connected to its devnet peers "
                  f"({len(peers & others)} of {len(others)})")

    r, _ = badpeer(run, exe, "probe", target, dev["genesis"])
    run.check(r == "ready", f"a fresh node id still completes the handshake (got '{r}')")
    st = netlib.status(url)
    banned = st["network_stats"]["banned_peer_count"]
    run.check(banned >= len(MODES), f"get_status counts the bans ({banned})")
    m = netlib.metrics(node0)
    run.check(m.get("weft_banned_peers", 0) >= len(MODES),
              f"metric weft_banned_peers ({m.get('weft_banned_peers')})")
    run.check(m.get("weft_bans_total", 0) >= len(MODES),
              f"metric weft_bans_total ({m.get('weft_bans_total')})")

    # node 0 keeps producing and finalizing, with the same final blocks as its peers
    f1 = netlib.fp_of(url)
    if run.wait_for(lambda: netlib.fp_of(url) >= max(f1, f0) + 3, 60,
                    "node 0 still finalizing"):
        produced1 = netlib.metrics(node0).get("weft_blocks_produced_total", 0)
        run.check(produced1 > produced0, f"node 0 still producing ({produced0} -> {produced1})")
        netlib.agree(run, nodes, 1, netlib.min_final(nodes) - 1, "after the attacks")
    run.check(netlib.peers_of(url) >= others, "node 0 still connected to its devnet peers at "
              "the end")


if __name__ == "__main__":
    r = netlib.Run(sys.argv[1], sys.argv[2], "weft-e2e-badpeer-")
    try:
        main(r, sys.argv[3])
    finally:
        rc = r.finish()
    sys.exit(rc)
