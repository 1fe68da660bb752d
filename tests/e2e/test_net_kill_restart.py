#!/usr/bin/env python3
"""End-to-end: a devnet node killed with SIGKILL and restarted catches up with the others.

A 4-node devnet (t0 = 3,200 ms) runs until a few periods are final.  Node 1 (it bootstraps from
node 0 only and learnt the others from peer lists) is killed with SIGKILL; the other three go on
finalizing without it for a few periods.  `weftd run --repo` restarts it.  Checks:
  1. while it is down the others keep finalizing;
  2. after the restart its final period reaches the others' (it fetched the blocks it missed),
     and its final blocks equal theirs in every slot, including those of the time it was down;
  3. it is connected again and keeps advancing with the others (the same final blocks).

usage: test_net_kill_restart.py WEFT WEFTD
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib  # noqa: E402

T0 = 3200
VICTIM = 1


def main(run):
    dev = run.devnet(4, t0=T0)
    if not dev:
        return
    nodes = dev["nodes"]
    victim = nodes[VICTIM]
    others = [n for i, n in enumerate(nodes) if i != VICTIM]
    url = victim["public_api"]
    run.note("devnet of 4 nodes started; waiting for 3 final periods everywhere")
    if not run.wait_for(lambda: netlib.min_final(nodes) >= 3, 90, "final period 3 on all nodes"):
        return
    f_kill = netlib.fp_of(url)
    netlib.kill9(run, victim["pid"])
    run.note(f"node {VICTIM} killed at final period {f_kill}")
    if not run.wait_for(lambda: netlib.min_final(others) >= f_kill + 4, 60,
                        f"the other nodes final at period {f_kill + 4} without node {VICTIM}"):
        return
    target = max(netlib.fp_of(n["public_api"]) for n in others)
    run.start_node(victim["repo"])
    run.note(f"node {VICTIM} restarted; the others are final at period {target}")
    if not run.wait_for(lambda: netlib.fp_of(url) >= target, 90,
                        f"the restarted node final at period {target}"):
        return
    run.note(f"node {VICTIM} caught up: final period {netlib.fp_of(url)}")
    upto = min(netlib.min_final(nodes), target) - 1
    netlib.agree(run, nodes, 1, upto, "after the restart")
    ids = {n["node_id"] for n in others}
    run.wait_for(lambda: len(netlib.peers_of(url) & ids) >= 2, 30,
                 "the restarted node connected to the others again")

    f1 = netlib.fp_of(url)
    if not run.wait_for(lambda: netlib.fp_of(url) >= f1 + 4, 60,
                        f"the restarted node final at period {f1 + 4}"):
        return
    upto2 = netlib.min_final(nodes) - 1
    run.check(upto2 >= f1 + 2, f"the others advance too (common final {upto2 + 1})")
    netlib.agree(run, nodes, upto, upto2, "while following")


if __name__ == "__main__":
    r = netlib.Run(sys.argv[1], sys.argv[2], "weft-e2e-kill-")
    try:
        main(r)
    finally:
        rc = r.finish()
    sys.exit(rc)
