#!/usr/bin/env python3
"""Black-box tests of `weft graph replay SCENARIO.json [--trace]` (spec/blockclique.md).

  test_replay.py examples WEFT   every shared/spec/blockclique-examples/NAME.json replayed with
                                 --trace must print NAME.expected.jsonl exactly, and without
                                 --trace exactly its last line; exit 77 (skip) without shared/.
  test_replay.py errors WEFT     malformed scenarios, unreadable files and bad usage exit with
                                 status 2 and a named error on stderr, print nothing on stdout.
"""
import os
import subprocess
import sys
import tempfile


def run(weft, args, stdin=None):
    p = subprocess.run([weft, "graph"] + args, input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def examples(weft):
    shared = os.environ.get("WEFT_SHARED") or os.environ.get("WEFT_SHARED_DEFAULT", "")
    d = os.path.join(shared, "spec", "blockclique-examples")
    if not os.path.isdir(d):
        print(f"SKIP: {d} not found (set WEFT_SHARED) - examples not checked")
        return 77
    names = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".json"))
    failed = 0
    for n in names:
        path = os.path.join(d, n + ".json")
        with open(os.path.join(d, n + ".expected.jsonl")) as f:
            want = f.read()
        rc, out, err = run(weft, ["replay", path, "--trace"])
        if rc != 0 or out != want:
            failed += 1
            got, exp = out.splitlines(), want.splitlines()
            line = next((i for i in range(max(len(got), len(exp)))
                         if i >= len(got) or i >= len(exp) or got[i] != exp[i]), None)
            print(f"FAIL {n}: exit {rc}, first difference at line {line + 1 if line is not None else '?'}"
                  f"\n{err}")
            continue
        rc, out, err = run(weft, ["replay", path])
        if rc != 0 or out != want.splitlines(keepends=True)[-1]:
            failed += 1
            print(f"FAIL {n} (without --trace): exit {rc}\n{err}")
    print(f"{len(names) - failed}/{len(names)} examples match")
    return 1 if failed or len(names) < 25 else 0


BAD = [
    ("not json", "E_JSON"),
    ('{"thread_count": 2, "delta_f0": 1}', "E_GRAPH_SCENARIO"),
    ('{"thread_count": 0, "delta_f0": 1, "blocks": []}', "E_GRAPH_SCENARIO"),
    ('{"thread_count": 2, "delta_f0": 1, "blocks": [{"id": "b", "slot": [1, 0]}]}',
     "E_GRAPH_SCENARIO"),
    ('{"thread_count": 2, "delta_f0": 1, "blocks": [{"id": "b", "slot": [1, 0], '
     '"parents": ["g0", "g1"], "fitness": "1"}]}', "E_GRAPH_SCENARIO"),
]


def errors(weft):
    failed = 0

    def expect(what, rc, out, err, name):
        nonlocal failed
        if rc != 2 or out != "" or name not in err:
            failed += 1
            print(f"FAIL {what}: exit {rc}, stdout {out!r}, stderr {err!r} (wanted 2 and {name})")

    with tempfile.TemporaryDirectory() as tmp:
        for i, (text, name) in enumerate(BAD):
            path = os.path.join(tmp, f"bad{i}.json")
            with open(path, "w") as f:
                f.write(text)
            rc, out, err = run(weft, ["replay", path, "--trace"])
            expect(f"malformed scenario {i}", rc, out, err, name)
        rc, out, err = run(weft, ["replay", os.path.join(tmp, "absent.json")])
        expect("missing file", rc, out, err, "E_IO")
    rc, out, err = run(weft, ["replay"])
    expect("no file", rc, out, err, "E_USAGE")
    rc, out, err = run(weft, ["replay", "a.json", "b.json"])
    expect("two files", rc, out, err, "E_USAGE")
    rc, out, err = run(weft, ["replay", "a.json", "--bogus"])
    expect("unknown option", rc, out, err, "E_USAGE")
    rc, out, err = run(weft, ["explode"])
    expect("unknown subcommand", rc, out, err, "E_USAGE")
    # stdin works, and a good scenario exits 0
    good = b'{"thread_count": 2, "delta_f0": 4, "blocks": [{"id": "b1", "slot": [1, 0], "parents": ["g0", "g1"]}]}'
    rc, out, err = run(weft, ["replay", "-"], stdin=good)
    want = ('{"best_parents": ["b1", "g1"], "cliques": [{"blocks": ["b1"], "fitness": 1, '
            '"is_blockclique": true}], "final": ["g0", "g1"], "invalid": [], "pending": ["b1"], '
            '"stale": [], "waiting": []}\n')
    if rc != 0 or out != want:
        failed += 1
        print(f"FAIL stdin: exit {rc}, stdout {out!r}, stderr {err!r}")
    print(f"error cases: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    mode, weft = sys.argv[1], sys.argv[2]
    sys.exit(examples(weft) if mode == "examples" else errors(weft))
