#!/usr/bin/env python3
"""End-to-end: two nodes in two network namespaces, linked by a veth pair, finalize the same blocks.

Needs root and iproute2 (`ip netns`); otherwise the test is skipped with a visible message (exit
77, ctest SKIP_RETURN_CODE).  Creates namespaces weft-e2e-a-PID and weft-e2e-b-PID, a veth pair
between them (10.231.X.1/24 and 10.231.X.2/24), a genesis with one staker per node (t0 = 3,200
ms), and one repository per node whose p2p port listens on its veth address (node B bootstraps
from node A over the veth link; each node's APIs are on its namespace's loopback, which the test
reaches by entering the namespace with setns(2) for each call).  Checks: each node's peer is the
other one at its 10.231.X address, both finalize, and their final blocks agree in every slot.
The namespaces (and with them the veth pair) are deleted at the end, also on failure.

usage: test_net_netns.py WEFT WEFTD
"""
import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlib  # noqa: E402

T0 = 3200
CLONE_NEWNET = 0x40000000
P2P_PORT = 31244


def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p


_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name):
    """Runs the block with this thread in network namespace `name` (sockets created inside
    belong to it)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        yield
    finally:
        _libc.setns(home, CLONE_NEWNET)
        os.close(fd)
        os.close(home)


def netns_usable():
    """None if namespaces can be used, else why not."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN)"
    if not shutil.which("ip"):
        return "iproute2's `ip` is not installed"
    probe = f"weft-e2e-probe-{os.getpid()}"
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        return f"`ip netns add` fails: {p.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def write_genesis(path, stakers):
    g = {"chain_id": 4000 + os.getpid() % 100000,
         "genesis_timestamp": (int(time.time() * 1000) + 5000) // 1000 * 1000,
         "params": {"thread_count": netlib.THREADS, "t0": T0,
                    "periods_per_cycle": netlib.PERIODS_PER_CYCLE},
         "balances": {s["address"]: "1000" for s in stakers},
         "rolls": {s["address"]: 100 for s in stakers}}
    with open(path, "w") as f:
        json.dump(g, f, indent=2)


def main(run):
    tag = os.getpid() % 100000
    sub = tag % 250 + 1
    ns = [f"weft-e2e-a-{tag}", f"weft-e2e-b-{tag}"]
    veth = [f"wea{tag}", f"web{tag}"]
    addrs = [f"10.231.{sub}.1", f"10.231.{sub}.2"]
    for n in ns:
        run.cleanups.append(lambda n=n: ip("netns", "del", n, check=False))
    for n in ns:
        ip("netns", "add", n)
    ip("link", "add", veth[0], "type", "veth", "peer", "name", veth[1])
    run.cleanups.append(lambda: ip("link", "del", veth[0], check=False))
    for n, v, a in zip(ns, veth, addrs):
        ip("link", "set", v, "netns", n)
        ip("-n", n, "addr", "add", f"{a}/24", "dev", v)
        ip("-n", n, "link", "set", v, "up")
        ip("-n", n, "link", "set", "lo", "up")
    run.note(f"namespaces {ns} linked by veth {veth} ({addrs[0]} <-> {addrs[1]})")

    stakers = [netlib.new_key(run.weft) for _ in range(2)]
    gpath = os.path.join(run.dir, "genesis.json")
    write_genesis(gpath, stakers)
    nodes = []
    for i in range(2):
        repo = os.path.join(run.dir, f"node{i}")
        boot = [f"{addrs[0]}:{P2P_PORT}"] if i == 1 else []
        if not run.init_node(repo, gpath, boot, listen=f"{addrs[i]}:{P2P_PORT}",
                             staking_key=stakers[i]["secret_key"]):
            return
        run.start_node(repo, prefix=["ip", "netns", "exec", ns[i]])
        nd = run.node_of_repo(repo)
        if not nd:
            return
        nd["ns"] = ns[i]
        nodes.append(nd)

    def fp(i):
        with in_netns(ns[i]):
            return netlib.fp_of(nodes[i]["public_api"])

    def peers(i):
        with in_netns(ns[i]):
            return netlib.status(nodes[i]["public_api"])["connected_nodes"]

    if not run.wait_for(lambda: min(fp(0), fp(1)) >= 4, 90, "final period 4 on both nodes"):
        return
    for i in range(2):
        p = peers(i)
        ips = [v[0] for v in p.values()]
        run.check(addrs[1 - i] in ips, f"node {i} is connected to {addrs[1 - i]} over the veth "
                  f"link (peers: {p})")
    upto = min(fp(0), fp(1)) - 1
    blocks = []
    for i in range(2):
        with in_netns(ns[i]):
            blocks.append(netlib.final_blocks(nodes[i]["public_api"], 1, upto))
    diff = [k for k in blocks[0] if blocks[0][k] != blocks[1][k]]
    run.check(not diff, f"the two nodes' final blocks agree in periods 1..{upto} "
              f"({len(diff)} slots differ: {diff[:3]})")
    filled = sum(1 for v in blocks[0].values() if v)
    run.check(filled >= netlib.min_filled(len(blocks[0])),
              f"{filled} of {len(blocks[0])} slots have a block")
    # both stakers' blocks are final on both sides: the blocks did cross the link
    creators = set()
    with in_netns(ns[0]):
        g = netlib.rpc(nodes[0]["public_api"], "get_graph_interval", [{}])
    for b in g:
        if b["is_final"]:
            creators.add(b["creator"])
    run.check(creators >= {s["address"] for s in stakers},
              f"final blocks of both stakers on node 0 ({len(creators)} creators)")


if __name__ == "__main__":
    why = netns_usable()
    if why:
        netlib.skip(f"e2e_net_netns: {why}")
    r = netlib.Run(sys.argv[1], sys.argv[2], "weft-e2e-netns-")
    try:
        main(r)
    finally:
        rc = r.finish()
    sys.exit(rc)
