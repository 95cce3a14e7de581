#!/usr/bin/env python3
"""check_test.py — every counter of check.py fires on a history built to trip it (CTest
reliability_check_test), so a 0 in the suite means "not seen", not "not looked for"."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(histories, drain, expect_loss=False, txn=False, group=False, decided=None):
    """histories: {producer: [lines]}, drain: [(partition, offset, body)] -> (exit code, counters).
    decided: a list that gets the --decided-out file's fields (--txn)."""
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for producer, lines in histories.items():
            paths.append(os.path.join(d, producer + ".history"))
            with open(paths[-1], "w") as f:
                f.write("".join(l + "\n" for l in lines))
        with open(os.path.join(d, "drain"), "w") as f:
            f.write("".join(f"{p} {o} {b}\n" for p, o, b in drain))
        open(os.path.join(d, "restarts"), "w").close()
        args = [sys.executable, os.path.join(HERE, "check.py"), "--name", "t", "--drain", os.path.join(d, "drain"),
                "--restarts", os.path.join(d, "restarts")] + (["--expect-loss"] if expect_loss else []) \
            + (["--txn"] if txn else []) + (["--group"] if group else []) \
            + (["--decided-out", os.path.join(d, "decided")] if decided is not None else []) + paths
        r = subprocess.run(args, capture_output=True, text=True)
        if decided is not None and os.path.exists(os.path.join(d, "decided")):
            decided.extend(int(x) for x in open(os.path.join(d, "decided")).read().split())
        counters = {k: int(v.replace(",", "")) for k, v in re.findall(r"([a-z-]+) ([\d,]+)(?=[,\s]|$)", r.stdout)}
        return r.returncode, counters, r.stdout


def acked(seq, part, off):
    return [f"invoke {seq} 1000", f"ok {seq} {part} {off} 1001"]


def main():
    failures, ran = [], []

    def expect(what, histories, drain, counter, value, code, expect_loss=False, txn=False, group=False):
        ran.append(what)
        rc, c, out = run(histories, drain, expect_loss, txn, group)
        if c.get(counter) != value or rc != code:
            failures.append(f"{what}: wanted {counter} {value} and exit {code}, got exit {rc}: {out.strip()}")

    clean = {"p1": acked(0, 0, 0) + acked(1, 0, 1)}
    expect("clean", clean, [(0, 0, "p1:0"), (0, 1, "p1:1")], "acked-lost", 0, 0)
    expect("lost", clean, [(0, 0, "p1:0")], "acked-lost", 1, 1)
    expect("canary sees loss", clean, [(0, 0, "p1:0")], "acked-lost", 1, 0, expect_loss=True)
    expect("canary without loss fails", clean, [(0, 0, "p1:0"), (0, 1, "p1:1")], "acked-lost", 0, 1, expect_loss=True)
    expect("unexpected", clean, [(0, 0, "p1:0"), (0, 1, "p1:1"), (0, 2, "p1:7")], "unexpected", 1, 1)
    refused = {"p1": acked(0, 0, 0) + ["invoke 1 1000", "fail 1 9"]}
    expect("refused yet stored", refused, [(0, 0, "p1:0"), (0, 1, "p1:1")], "unexpected", 1, 1)
    expect("duplicates are counted, not failed", clean, [(0, 0, "p1:0"), (0, 1, "p1:1"), (0, 2, "p1:1")],
           "duplicates", 1, 0)
    unknown = {"p1": acked(0, 0, 0) + ["invoke 1 1000", "info 1 14"]}
    expect("recovered", unknown, [(0, 0, "p1:0"), (0, 1, "p1:1")], "recovered", 1, 0)
    backwards = {"p1": acked(0, 0, 1) + acked(1, 0, 0)}
    expect("non-monotonic", backwards, [(0, 1, "p1:0"), (0, 0, "p1:1")], "non-monotonic", 1, 1)
    expect("offset gap", clean, [(0, 0, "p1:0"), (0, 2, "p1:1")], "offset-gaps", 1, 1)
    expect("misplaced", clean, [(0, 0, "p1:1"), (0, 1, "p1:0")], "misplaced", 2, 1)
    unacked = {"p1": ["invoke 0 1000", "invoke 1 1000"]}
    expect("reordered", unacked, [(0, 0, "p1:1"), (0, 1, "p1:0")], "reordered", 1, 1)
    # T6 (--txn): seq 0 commits, seq 6 rolls back, seq 9 is unknown then committed by a check.
    txn = {"p1": ["invoke 0 1", "half 0 100 5", "end 0 committed", "invoke 6 1", "half 6 101 6", "end 6 rolled_back",
                  "invoke 9 1", "half 9 102 7", "end 9 pending", "check 9 1 commit 20 p1", "open 0 0"]}
    ok_drain = [(0, 0, "p1:0"), (0, 1, "p1:9")]
    expect("txn clean", txn, ok_drain, "lost-commit", 0, 0, txn=True)
    expect("txn lost commit", txn, [(0, 0, "p1:0")], "lost-commit", 1, 1, txn=True)
    expect("txn canary", txn, [(0, 0, "p1:0")], "lost-commit", 1, 0, expect_loss=True, txn=True)
    expect("txn ghost", txn, ok_drain + [(0, 2, "p1:6")], "ghost", 1, 1, txn=True)
    expect("txn appended twice", txn, ok_drain + [(0, 2, "p1:0")], "duplicates", 1, 1, txn=True)
    misapplied = {"p1": txn["p1"][:5] + ["end 6 committed"] + txn["p1"][6:]}
    expect("txn misapplied", misapplied, ok_drain, "misapplied", 1, 1, txn=True)
    too_many = {"p1": txn["p1"] + ["check 9 16 commit"]}
    expect("txn checks past the max", too_many, ok_drain, "max", 16, 1, txn=True)
    still_open = {"p1": txn["p1"][:-1] + ["open 1 0"]}
    expect("txn left open", still_open, ok_drain, "run", 1, 1, txn=True)
    # --decided-out (rel_txn_audit --expect): stored (half) or checked (for the check's producer,
    # here p3, whose history was lost), each once: p1's 0 and 9 commit, its 6 and p3's 7 roll back;
    # p2's 3 was never stored.
    decided = []
    checked = dict(txn, p2=["invoke 3 1", "info 3 14", "check 7 1 rollback 30 p3", "check 9 2 commit 31 p1"])
    run(checked, ok_drain, txn=True, decided=decided)
    ran.append("txn decided")
    if decided != [2, 2]:
        failures.append(f"txn decided: wanted [2, 2] (to commit, to roll back), got {decided}")
    # A live consumer: p1:0 was decided at ms 5 (its half line), p1:9 at ms 20 (the check's COMMIT).
    expect("txn read after the commit", dict(txn, c1=["poll 0 0 6", "poll 0 1 21"]), ok_drain, "precommitted", 0, 0,
           txn=True)
    expect("txn read before the local commit", dict(txn, c1=["poll 0 0 4"]), ok_drain, "precommitted", 1, 1, txn=True)
    expect("txn read before the check's commit", dict(txn, c1=["poll 0 1 15"]), ok_drain, "precommitted", 1, 1,
           txn=True)
    # T4 (--group): p1 acked offsets 0 and 1 of partition 0; c1 polled and committed them.
    prod = acked(0, 0, 0) + acked(1, 0, 1)
    cons = ["poll 0 0 10", "poll 0 1 10", "commit 11 0:2"]
    expect("group clean", {"p1": prod, "c1": cons}, [], "acked-unconsumed", 0, 0, group=True)
    expect("group unconsumed", {"p1": prod, "c1": cons[:1] + ["commit 11 0:1"]}, [], "acked-unconsumed", 1, 1,
           group=True)
    expect("group commit regression", {"p1": prod, "c1": cons, "c2": ["commit 20 0:1"]}, [], "commit-regressions",
           1, 1, group=True)
    expect("group redelivered after commit", {"p1": prod, "c1": cons, "c2": ["assigned 25 0", "poll 0 1 30"]}, [],
           "redelivered-after-commit", 1, 1, group=True)
    # c2 was assigned partition 0 before c1's commit: its poll came from a fetch served before the
    # partition moved, which is at-least-once, not a broken commit.
    expect("group canary sees a lost commit", {"p1": prod, "c1": cons, "c2": ["assigned 25 0", "poll 0 1 30"]}, [],
           "redelivered-after-commit", 1, 0, expect_loss=True, group=True)
    expect("group canary without a lost commit fails", {"p1": prod, "c1": cons}, [], "commit-regressions", 0, 1,
           expect_loss=True, group=True)
    expect("group fetch served before the move", {"p1": prod, "c1": cons, "c2": ["assigned 5 0", "poll 0 1 30"]},
           [], "redelivered-after-commit", 0, 0, group=True)
    expect("group fetch served before the move counted", {"p1": prod, "c1": cons,
                                                            "c2": ["assigned 5 0", "poll 0 1 30"]},
           [], "served-before-move", 1, 0, group=True)
    expect("group polled again before a commit", {"p1": prod, "c1": ["poll 0 0 10", "poll 0 1 10"],
                                                   "c2": cons}, [], "commit", 2, 0, group=True)
    for f in failures:
        print("FAIL", f)
    print(f"check_test: {len(ran) - len(failures)}/{len(ran)} cases")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
