#!/usr/bin/env python3
"""End-to-end: a node that joins late with an empty repository syncs, then follows.

A 4-node devnet (t0 = 3,200 ms: 100 ms slots over 32 threads) runs until several periods are
final on every node.  A 5th node is then created with `weftd init` on the devnet's genesis file
(no staking key, no blocks), bootstrapping from the 4 nodes' p2p addresses, and started.  Checks:
  1. it catches up: its final period reaches the one the others had when it started, and its
     final block of every slot up to there equals theirs (a missed slot is missed everywhere);
  2. it received those blocks from its peers (weft_net_blocks_received_total) and is connected;
  3. it follows: its final period keeps advancing with the others', with the same final blocks.

usage: test_net_late_join.py WEFT WEFTD
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib  # noqa: E402

T0 = 3200


def main(run):
    dev = run.devnet(4, t0=T0)
    if not dev:
        return
    nodes = dev["nodes"]
    run.note("devnet of 4 nodes started; waiting for 6 final periods everywhere")
    if not run.wait_for(lambda: netlib.min_final(nodes) >= 6, 90, "final period 6 on all nodes"):
        return
    target = max(netlib.fp_of(n["public_api"]) for n in nodes)

    repo = os.path.join(run.dir, "late")
    if not run.init_node(repo, dev["genesis"], [n["p2p"] for n in nodes]):
        return
    run.start_node(repo)
    late = run.node_of_repo(repo)
    if not late:
        return
    url = late["public_api"]
    run.note(f"late node started while the others are final at period {target}")
    st = run.wait_for(lambda: (lambda s: s if netlib.final_period(s) >= target else None)(
        netlib.status(url)), 90, f"the late node final at period {target}")
    if not st:
        return
    run.note(f"late node synced: final period {netlib.final_period(st)}")
    upto = netlib.min_final(nodes + [late]) - 1
    netlib.agree(run, nodes + [late], 1, upto, "after the sync")
    m = netlib.metrics(late)
    got = m.get("weft_net_blocks_received_total", 0)
    run.check(got >= (target - 1) * netlib.THREADS // 2,
              f"the late node received its blocks from peers ({got} blocks)")
    ids = {n["node_id"] for n in nodes}
    peers = netlib.peers_of(url)
    run.check(len(peers & ids) >= 2, f"the late node is connected to the devnet ({len(peers)} "
              f"peers, {len(peers & ids)} of them devnet nodes)")

    # follows: its final period keeps advancing with the others'
    f1 = netlib.fp_of(url)
    if not run.wait_for(lambda: netlib.fp_of(url) >= f1 + 4, 60,
                        f"the late node final at period {f1 + 4}"):
        return
    upto2 = netlib.min_final(nodes + [late]) - 1
    run.check(upto2 >= f1 + 2, f"the others advance too (common final {upto2 + 1})")
    netlib.agree(run, nodes + [late], max(upto, 1), upto2, "while following")
    run.note(f"late node follows: final period {netlib.fp_of(url)}")


if __name__ == "__main__":
    r = netlib.Run(sys.argv[1], sys.argv[2], "weft-e2e-late-")
    try:
        main(r)
    finally:
        rc = r.finish()
    sys.exit(rc)
