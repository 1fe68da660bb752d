"""Helpers of the network end-to-end tests (tests/e2e/test_net_*.py): real weftd processes on
loopback (or in network namespaces), observed only through their JSON-RPC APIs.

A test builds a `Run` (checks, scratch directory, processes to clean up), starts a devnet with
`Run.devnet` (`weft devnet --detach`) or nodes of its own with `Run.init_node` / `Run.start_node`,
and compares the nodes' final blocks with `final_blocks` / `agree`.  Every wait is bounded; a
failed check is recorded and the test goes on or returns; `Run.finish` prints the tails of the
nodes' logs when something failed, stops every process and removes the directory.

Conventions: a node is a dict with at least "public_api" (http://host:port) and "repo"; the
final period of a node is the period of its execution's final cursor (get_status).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

THREADS = 32
# Cycles of 128 periods (the default; 410 s at t0 = 3.2 s): the draws of cycle 3 on need cycle 1
# final, so a chain whose finality lags more than a cycle stops producing for good
# (docs/consensus.md §1.1).  On a starved machine (CI, VM steal) finality of these 100 ms-slot
# devnets lagged 10-17 periods, and with 8-period cycles they stopped at period 24; no test lives
# to period 384, so a slow machine makes a test slow, never a dead chain.
PERIODS_PER_CYCLE = 128


class Run:
    def __init__(self, weft, weftd, prefix):
        self.weft, self.weftd = weft, weftd
        self.dir = tempfile.mkdtemp(prefix=prefix)
        print(f"repositories under {self.dir}", flush=True)
        self.failures = []
        self.checks = 0
        self.procs = []      # Popen of nodes started here
        self.devnets = []    # devnet directories to stop
        self.cleanups = []   # callables run at the end (network namespaces …)
        self.logs = []       # log files printed on failure

    # ---- checks ----------------------------------------------------------------------------
    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, flush=True)
        return cond

    def note(self, what):
        print(f"[{time.strftime('%H:%M:%S')}] {what}", flush=True)

    def wait_for(self, pred, timeout, what, quiet=False):
        """Polls pred() (exceptions count as not yet) until it returns something true."""
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = pred()
                if last:
                    return last
            except Exception as e:  # a node starting or restarting
                last = e
            time.sleep(0.25)
        if not quiet:
            self.check(False, f"timed out after {timeout} s waiting for {what} (last: {last})")
        return None

    # ---- processes -------------------------------------------------------------------------
    def devnet(self, nodes, t0=3200, accounts=2, extra=()):
        """`weft devnet --detach` in DIR/devnet: the parsed devnet.json (with "dir"), or None."""
        d = os.path.join(self.dir, "devnet")
        self.devnets.append(d)
        p = subprocess.run([self.weft, "devnet", "--nodes", str(nodes), "--dir", d, "--t0", str(t0),
                            "--periods-per-cycle", str(PERIODS_PER_CYCLE),
                            "--accounts", str(accounts), "--detach", "--genesis-delay", "3000",
                            *extra],
                           capture_output=True, text=True, timeout=120)
        for i in range(nodes):
            self.logs.append(os.path.join(d, f"node{i}", "weftd.log"))
        if not self.check(p.returncode == 0, f"weft devnet exit {p.returncode}: {p.stderr}"):
            return None
        dev = json.load(open(os.path.join(d, "devnet.json")))
        dev["dir"] = d
        dev["genesis"] = os.path.join(d, "genesis.json")
        return dev

    def init_node(self, repo, genesis, bootstrap, listen=None, staking_key=None, node_key=None,
                  extra=()):
        """`weftd init` of an empty repository on the genesis file, bootstrapping from the
        given p2p addresses, its APIs on fixed free loopback ports (the same after a restart);
        True on success."""
        listen = listen or f"127.0.0.1:{free_port()}"
        args = [self.weftd, "init", "--repo", repo, "--genesis", genesis,
                "--api.public", f"127.0.0.1:{free_port()}",
                "--api.private", f"127.0.0.1:{free_port()}",
                "--api.metrics", f"127.0.0.1:{free_port()}", "--p2p.listen", listen,
                "--p2p.max_peers", "16", "--p2p.max_per_ip", "16"]
        if bootstrap:
            args += ["--p2p.bootstrap", ",".join(bootstrap)]
        if staking_key:
            args += ["--staking-key", staking_key]
        if node_key:
            args += ["--node-key", node_key]
        p = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=30)
        return self.check(p.returncode == 0, f"weftd init {repo}: {p.stderr.strip()}")

    def start_node(self, repo, prefix=(), extra=()):
        """`weftd run --repo` (prefix: e.g. ["ip", "netns", "exec", NS]); the Popen."""
        log_path = os.path.join(repo, "weftd.log")
        if log_path not in self.logs:
            self.logs.append(log_path)
        log = open(log_path, "a")
        p = subprocess.Popen([*prefix, self.weftd, "run", "--repo", repo, *extra], stdout=log,
                             stderr=log, start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def node_of_repo(self, repo, timeout=30):
        """{"public_api", "private_api", "metrics", "p2p", "repo", "pid"} once api.json exists."""
        path = os.path.join(repo, "api.json")
        ep = self.wait_for(lambda: json.load(open(path)) if os.path.exists(path) else None,
                           timeout, f"{path}")
        if not ep:
            return None
        return {"public_api": "http://" + ep["public_api"], "private_api": "http://" +
                ep["private_api"], "metrics": ep.get("metrics"), "p2p": ep.get("p2p"),
                "repo": repo, "pid": ep.get("pid")}

    def finish(self):
        try:
            for d in self.devnets:
                if os.path.exists(os.path.join(d, "devnet.json")):
                    subprocess.run([self.weft, "devnet", "stop", "--dir", d], capture_output=True,
                                   timeout=60)
            for pr in self.procs:
                if pr.poll() is None:
                    pr.terminate()
            for pr in self.procs:
                try:
                    pr.wait(15)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait(5)
            if self.failures:
                for lp in self.logs:
                    if os.path.exists(lp):
                        print(f"--- {lp} (tail)")
                        with open(lp, errors="replace") as f:
                            print("".join(f.readlines()[-40:]))
        finally:
            for c in reversed(self.cleanups):
                try:
                    c()
                except Exception as e:
                    print(f"cleanup: {e}", flush=True)
            shutil.rmtree(self.dir, ignore_errors=True)
        print(f"{self.checks} checks, {len(self.failures)} failures", flush=True)
        return 1 if self.failures else 0


# ---- JSON-RPC ----------------------------------------------------------------------------------
def rpc(url, method, params, timeout=10):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        ans = json.loads(r.read())
    if "error" in ans:
        raise RuntimeError(f"{method}: {ans['error']}")
    return ans["result"]


def send_operations(url, ops, tries=100):
    """send_operations, sent again 100 ms later while the node answers E_BUSY (its checks are
    behind its peers' operations: docs/api.md), as a client should."""
    for _ in range(tries - 1):
        try:
            return rpc(url, "send_operations", [ops])
        except RuntimeError as e:
            if "E_BUSY" not in str(e):
                raise
            time.sleep(0.1)
    return rpc(url, "send_operations", [ops])


def private_rpc(node, method, params, timeout=10):
    """A private API call with the token of the node's repository."""
    token = open(os.path.join(node["repo"], "api.token")).read().strip()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(node["private_api"], body, {
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        ans = json.loads(r.read())
    if "error" in ans:
        raise RuntimeError(f"{method}: {ans['error']}")
    return ans["result"]


def status(url):
    return rpc(url, "get_status", [{}])


def final_period(st):
    """The period of the node's final cursor (-1 before it has one)."""
    fc = st["execution_stats"]["final_cursor"]
    return fc["period"] if fc else -1


def fp_of(url):
    return final_period(status(url))


def metrics(node):
    """The node's Prometheus text as {"name{labels}": value}."""
    with urllib.request.urlopen(f"http://{node['metrics']}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def final_blocks(url, first, last):
    """The final block id of every slot of periods first..last (None for a missed slot)."""
    res = {}
    for p in range(first, last + 1):
        for t in range(THREADS):
            b = rpc(url, "get_blockclique_block_by_slot", [{"period": p, "thread": t}])
            res[(p, t)] = b["header"]["id"] if b else None
    return res


def min_filled(slots):
    """The fewest filled slots a live chain shows here: a third.  The test machine's hypervisor
    has been seen taking 40-90 % of its CPU for minutes (steal), and then 4 nodes on 2 cores miss
    about half their slots (a node killed for a while leaves its own empty too); a stalled chain or
    one of empty blocks still fails."""
    return slots // 3


def agree(run, nodes, first, last, what):
    """Checks that every node has the same final block in every slot of periods first..last (all
    of them final on every node) and that the slots are not all empty; returns the block map."""
    ref = None
    for i, n in enumerate(nodes):
        fb = final_blocks(n["public_api"], first, last)
        if ref is None:
            ref = fb
            continue
        diff = [k for k in ref if ref[k] != fb[k]]
        run.check(not diff, f"{what}: node {i} differs from node 0 in {len(diff)} final slots "
                  f"of periods {first}..{last} (first: {diff[:3]}: {[ref[k] for k in diff[:1]]} "
                  f"vs {[fb[k] for k in diff[:1]]})")
    filled = sum(1 for v in ref.values() if v)
    run.check(filled >= min_filled(len(ref)), f"{what}: {filled} of {len(ref)} slots of periods "
              f"{first}..{last} have a final block")
    return ref


def min_final(nodes):
    return min(fp_of(n["public_api"]) for n in nodes)


def peers_of(url):
    """The node ids of the node's connected peers (past the handshake)."""
    return set(status(url)["connected_nodes"].keys())


_given_ports = set()


def free_port(host="127.0.0.1"):
    """A free loopback port, never one this process was given before (a port picked and released
    at once can come back at the next pick, before the first node bound it)."""
    for _ in range(100):
        s = socket.socket()
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def new_key(weft):
    """A fresh keypair from `weft key new --json`: {"secret_key", "public_key", "address", …}."""
    p = subprocess.run([weft, "key", "new", "--json"], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        raise RuntimeError(f"weft key new: {p.stderr}")
    return json.loads(p.stdout)


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


def kill9(run, pid):
    os.kill(pid, signal.SIGKILL)
    run.wait_for(lambda: not alive(pid), 10, f"pid {pid} dead after SIGKILL")


def skip(msg, code=77):
    """Skips the test visibly (ctest SKIP_RETURN_CODE 77)."""
    print(f"SKIPPED: {msg}", flush=True)
    sys.exit(code)
