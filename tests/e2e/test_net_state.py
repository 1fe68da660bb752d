#!/usr/bin/env python3
"""End-to-end: a node joining after its peers pruned their old blocks fetches the final state.

A 4-node devnet (t0 = 3,200 ms: 100 ms slots over 32 threads, cycles of 128 periods) is started,
then restarted with `node.block_retention = 6`: its nodes keep the final blocks of the last 6
periods only (and say so in their hellos; older ones are pruned, so blocks are compared over the
latest final periods only).  Once the chain is past that window and the 16 final periods nodes
also keep in memory, a 5th node with an
empty repository (no staking key) starts, bootstrapping from the 4.  Its peers no longer have the
blocks after its genesis, so it fetches a peer's final state in parts with the root blocks
(docs/protocol.md "State transfer"), checks it against the announced fingerprint, restarts its
node in the same process to adopt it, syncs the blocks after it and follows.  Checks:
  1. its log shows the import and the adoption, and its process (pid) is the same; its
     `p2p.state_peers` names nodes 2 and 3, and only they served parts of the state; its
     `p2p.state_confirmations` is 1, so the other named node must have confirmed the state's
     fingerprint at its cursor (STATE_CHECK, docs/protocol.md "Trust") for the state to be
     adopted: one of them answered a check with its fingerprint, and nodes 0 and 1 were asked
     nothing.  (Both may have served a first part: a transfer that starts before the other named
     node is ready has nobody to confirm it, and moves on to that node at once);
  2. it catches up: its final period reaches the others' and its final block of every slot of the
     latest final periods (all after the imported cursor) equals theirs, and it received the
     blocks after the cursor from its peers;
  3. a transfer sent through node 0 afterwards is final on the 5th node, with the same final
     balances (sender, recipient) on all five nodes;
  4. it keeps following.

usage: test_net_state.py WEFT WEFTD
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib  # noqa: E402
import test_node_restart as common  # noqa: E402
from test_node_restart import make_transfer  # noqa: E402

T0 = 3200
RETENTION = 6
KEEP_FINAL_PERIODS = 16  # final periods a node keeps in memory (src/node/consensus.c)
WINDOW = 3  # periods compared: the latest final ones, well within what the nodes keep


def log_text(repo):
    try:
        with open(os.path.join(repo, "weftd.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main(run):
    common.WEFT, common.WEFTD = run.weft, run.weftd
    common.check = run.check  # make_transfer reports here
    dev = run.devnet(4, t0=T0)
    if not dev:
        return
    nodes = dev["nodes"]
    if not run.wait_for(lambda: netlib.min_final(nodes) >= 2, 60, "final period 2 everywhere"):
        return
    # the same nodes, keeping only RETENTION periods of final blocks from now on
    p = subprocess.run([run.weft, "devnet", "stop", "--dir", dev["dir"]], capture_output=True,
                       text=True, timeout=60)
    run.check(p.returncode == 0, f"weft devnet stop: {p.stderr.strip()}")
    run.devnets.remove(dev["dir"])
    for n in nodes:
        run.start_node(n["repo"], extra=["--node.block_retention", str(RETENTION)])
    run.note(f"devnet restarted with node.block_retention = {RETENTION}")
    # Their hellos' kept_from is past the late node's genesis from RETENTION + 1 on, but the
    # nodes also keep the final blocks of the last KEEP_FINAL_PERIODS (16, src/node/consensus.c)
    # in memory and serve them: before the chain is past that too, the late node could rebuild
    # the chain from its genesis by asking for missing parents while its transfer runs, and drop
    # the transfer (a state its own final blocks passed) — the test would depend on which wins.
    past = KEEP_FINAL_PERIODS + RETENTION + 3
    if not run.wait_for(lambda: netlib.min_final(nodes) >= past, 150,
                        f"final period {past} everywhere"):
        return

    repo = os.path.join(run.dir, "late")
    named = nodes[2:]  # the peers its p2p.state_peers names: one serves, the other confirms
    if not run.init_node(repo, dev["genesis"], [n["p2p"] for n in nodes],
                         extra=["--p2p.state_peers", ",".join(n["node_id"] for n in named),
                                "--p2p.state_confirmations", "1"]):
        return
    proc = run.start_node(repo)
    late = run.node_of_repo(repo)
    if not late:
        return
    url = late["public_api"]
    target = max(netlib.fp_of(n["public_api"]) for n in nodes)
    run.note(f"late node started while the others are final at period {target}")

    # 1. the import and its adoption, in the same process
    adopted = run.wait_for(lambda: "imported final state adopted" in log_text(repo), 60,
                           "the late node adopting a peer's final state")
    if not adopted:
        return
    text = log_text(repo)
    m = re.search(r"final state imported; adopted at the next start.*?cursor=(\d+):(\d+) "
                  r"records=(\d+) roots=(\d+)", text)
    run.check(m is not None, "the import logged with its cursor")
    cursor = int(m.group(1)) if m else target
    run.note(f"final state imported at period {cursor} "
             f"({m.group(3) if m else '?'} records, {m.group(4) if m else '?'} roots)")
    run.check(cursor >= target - 4,
              f"the imported cursor {cursor} is recent (others final at {target})")
    ms = [netlib.metrics(run.node_of_repo(n["repo"])) for n in nodes]
    served = [m.get("weft_state_parts_served_total", 0) for m in ms]
    checked = [m.get("weft_state_checks_answered_total", 0) for m in ms]
    run.note(f"parts served by nodes 0-3: {served}; checks answered: {checked}")
    run.check(not any(served[:2]) and (served[2] > 0 or served[3] > 0),
              f"only the nodes named in p2p.state_peers served the state (parts: {served})")
    run.check(not any(checked[:2]) and (checked[2] > 0 or checked[3] > 0),
              f"a named node confirmed the fingerprint (checks answered: {checked})")
    run.check(proc.poll() is None, "the late node's process still runs after the restart")
    late = run.node_of_repo(repo)
    run.check(late and late["pid"] == proc.pid, f"the same process serves the API ({late})")

    # 2. it catches up and agrees after the cursor
    st = run.wait_for(lambda: (lambda s: s if netlib.final_period(s) >= target + 2 else None)(
        netlib.status(url)), 60, f"the late node final at period {target + 2}")
    if not st:
        return
    upto = netlib.min_final(nodes + [late]) - 1
    netlib.agree(run, nodes + [late], max(cursor + 1, upto - WINDOW + 1), upto,
                 "after the state transfer")
    got = netlib.metrics(late).get("weft_net_blocks_received_total", 0)
    run.check(got >= (upto - cursor) * netlib.THREADS // 2,
              f"the late node received the blocks after the cursor from peers ({got} blocks)")

    # 3. a transfer through node 0: final on the late node, same balances everywhere
    acc = dev["accounts"]
    sender, recipient = acc[0], acc[1]
    op = make_transfer(sender["secret_key"], recipient["address"], 3_500_000_000,
                       netlib.status(nodes[0]["public_api"]))
    if op:
        opid = netlib.send_operations(nodes[0]["public_api"], [op])

        def final_on(u):
            o = netlib.rpc(u, "get_operations", [opid])
            return o if o and o[0]["is_operation_final"] else None
        urls = [n["public_api"] for n in nodes] + [url]
        if run.wait_for(lambda: all(final_on(u) for u in urls), 60,
                        "the transfer final on all five nodes"):
            finals = [[x["final_balance"] for x in netlib.rpc(
                u, "get_addresses", [[sender["address"], recipient["address"]]])] for u in urls]
            run.check(all(f == finals[0] for f in finals),
                      f"same final balances on the five nodes ({finals})")

    # 4. it follows
    f1 = netlib.fp_of(url)
    if run.wait_for(lambda: netlib.fp_of(url) >= f1 + 3, 40, f"the late node final at {f1 + 3}"):
        upto2 = netlib.min_final(nodes + [late]) - 1
        netlib.agree(run, nodes + [late], upto2 - WINDOW + 1, upto2, "while following")
        run.note(f"late node follows: final period {netlib.fp_of(url)}")


if __name__ == "__main__":
    t = time.time()
    r = netlib.Run(sys.argv[1], sys.argv[2], "weft-e2e-state-")
    try:
        main(r)
    finally:
        rc = r.finish()
    print(f"{time.time() - t:.0f} s", flush=True)
    sys.exit(rc)
