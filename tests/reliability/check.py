#!/usr/bin/env python3
"""check.py — the reliability suite's O(n) checker (tests/reliability/README.md).

  check.py --name NAME --drain FILE --restarts FILE HISTORY...

Reads the producers' histories (invoke / ok / fail / info lines, see rel_client.cc), the drained
topic ("<partition> <offset> <producer>:<seq>") and the nemesis' restart times ("<unix ms>" per
line, when the restarted broker was ready), and prints one line:

  NAME: acked-lost 0, unexpected 0, duplicates 12 (0.06 %), recovered 3, failed 0, unknown 5,
        non-monotonic 0, offset-gaps 0, misplaced 0, reordered 0, restart→first-ack p50 120 ms p99 180 ms

acked-lost: acknowledged (ok) and not delivered. unexpected: delivered but never sent, or sent
and definitely refused (fail). duplicates: extra copies delivered. recovered: unknown outcome
(info or no answer) yet delivered. non-monotonic: within one producer and partition, a higher
sequence acknowledged at a lower offset (per-partition order of one producer). offset-gaps:
offsets missing inside a partition's drained range (a hole: the log is not a prefix of what was
written). misplaced: the offset an acknowledgement named holds another message. reordered: reading a
partition, one producer's sequence going down (per-partition order). Exit status 0
when every counter but duplicates, recovered, failed and unknown is 0 (with --expect-loss: when
acked-lost > 0, the canary).

  check.py --txn [--check-max 15] --name NAME --drain FILE --restarts FILE HISTORY...

T6: the histories of `rel_client txn` (rel_txn.h), whose sequence numbers decide each
transaction's outcome. lost-commit: a stored half-message to commit, never delivered. ghost: a
transaction to roll back, delivered. unexpected: delivered but never sent, or refused. duplicates:
a commit delivered twice. misapplied: the broker recorded the other outcome. checks: check-backs
answered, at most --check-max per transaction. open after the run: the group's pending + parked
transactions when the clients stopped waiting (must be 0). --decided-out FILE: writes "<to commit>
<to roll back>" of the transactions stored (a `half` line) or checked (a `check` line, for its own
producer) — with nothing left open, the outcomes the broker must hold (rel_txn_audit --expect). precommitted: a live consumer (c*
histories, rel_client consume) polled a message before its commit was decided — by the local
transaction (the `half` line's ms) or by a check answering COMMIT (the `check` line's ms).

  check.py --group --name NAME --drain FILE --restarts FILE p*.history c*.history...

T4: producer histories (ok lines give acknowledged partition/offset) and consumer histories (c*,
rel_client consume). acked-unconsumed: acknowledged, never polled by the group. commit-regressions:
a partition's acknowledged commits going down in time. redelivered-after-commit: a poll returning an
offset below a commit the broker acknowledged before this member was assigned the partition (the
`assigned` line, written before the member reads its start offset). Polled again before a commit:
counted (at-least-once), not an error; so is served-before-move: a poll returned after another
member's acknowledged commit by a member assigned the partition before that commit (a fetch the
broker served before the partition moved, which nothing can recall).
"""
import argparse
import bisect
import collections
import itertools
import sys


def percentile(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def read_drain(path, histories):
    """The drained topic -> (Counter of (history, seq) copies, {(partition, offset): (history, seq)})."""
    # Histories are named <dir>/<producer id>.history: map body ids back to them.
    by_id = {h.rsplit("/", 1)[-1].rsplit(".", 1)[0]: h for h in histories}
    delivered = collections.Counter()
    at = {}
    for line in open(path):
        part, offset, body = line.rstrip("\n").split(" ", 2)
        pid, _, seq = body.partition(":")
        k = (by_id.get(pid, "?" + pid), int(seq))
        delivered[k] += 1
        at[(int(part), int(offset))] = k
    return delivered, at


def check_produce(a):
    invoked, ok, failed, unknown = set(), {}, set(), set()
    ack_times = []
    for path in a.histories:
        for line in open(path):
            f = line.split()
            if not f:
                continue
            producer = path  # one producer per history file; the body carries its id
            kind = f[0]
            if kind == "invoke":
                invoked.add((producer, int(f[1])))
            elif kind == "ok":
                ok[(producer, int(f[1]))] = (int(f[2]), int(f[3]))
                ack_times.append(int(f[4]))
            elif kind == "fail":
                failed.add((producer, int(f[1])))
            elif kind == "info":
                unknown.add((producer, int(f[1])))
    delivered, at = read_drain(a.drain, a.histories)

    lost = [k for k in ok if delivered[k] == 0]
    unexpected = [k for k in delivered if k not in invoked or k in failed]
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    answered = set(ok) | failed | unknown
    recovered = sum(1 for k in invoked if k not in ok and k not in failed and delivered[k] > 0)
    no_answer = len(invoked - answered)

    # One producer's acknowledged offsets on a partition grow with its sequence numbers.
    non_monotonic = 0
    last = {}
    for (producer, seq), (part, offset) in sorted(ok.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        k = (producer, part)
        if k in last and offset < last[k]:
            non_monotonic += 1
        last[k] = offset

    offset_gaps = 0
    by_partition = collections.defaultdict(list)
    for part, offset in at:
        by_partition[part].append(offset)
    for offsets in by_partition.values():
        offset_gaps += max(offsets) - min(offsets) + 1 - len(offsets)
    misplaced = sum(1 for k, pos in ok.items() if pos in at and at[pos] != k)
    # Poll order: reading a partition, one producer's sequence numbers only go up.
    reordered = 0
    newest = {}
    for (part, offset) in sorted(at):
        producer, seq = at[(part, offset)]
        if seq < newest.get((part, producer), -1):
            reordered += 1
        newest[(part, producer)] = max(seq, newest.get((part, producer), -1))

    restarts = [int(l) for l in open(a.restarts) if l.strip()]
    ack_times.sort()
    recovery = []
    for r in restarts:
        i = bisect.bisect_left(ack_times, r)
        if i < len(ack_times):
            recovery.append(ack_times[i] - r)

    total = sum(delivered.values())
    print(f"{a.name}: {len(ok):,} acked of {len(invoked):,} sent, {len(restarts)} restarts: "
          f"acked-lost {len(lost)}, unexpected {len(unexpected)}, "
          f"duplicates {duplicates:,} ({100.0 * duplicates / max(1, total):.2f} %), recovered {recovered}, "
          f"failed {len(failed)}, unknown {len(unknown) + no_answer}, non-monotonic {non_monotonic}, "
          f"offset-gaps {offset_gaps}, misplaced {misplaced}, reordered {reordered}, restart→first-ack p50 {percentile(recovery, 50)} ms p99 {percentile(recovery, 99)} ms")
    if a.expect_loss:
        return 0 if lost else 1
    return 0 if not lost and not unexpected and non_monotonic == 0 and offset_gaps == 0 and misplaced == 0 \
        and reordered == 0 else 1


def planned_commit(seq):
    """T6's rule (rel_txn.h): seq % 10 in 0-5 commit, 6-8 roll back, 9 unknown then commit."""
    return seq % 10 not in (6, 7, 8)


def planned_local_commit(seq):
    """Committed by the local transaction itself (not UNKNOWN first): seq % 10 in 0-5."""
    return seq % 10 < 6


def check_txn(a):
    invoked, halves, failed, unknown, ends, end_lost, checked = set(), set(), set(), set(), {}, set(), set()
    checks, max_checks, open_counts = 0, 0, []
    decided = {}  # (history, seq) -> ms the commit was decided (local transaction or check answer)
    by_id = {h.rsplit("/", 1)[-1].rsplit(".", 1)[0]: h for h in a.histories}  # as read_drain maps bodies
    polls = []    # (partition, offset, ms) of a consumer reading the topic during the run (c*)
    for path in a.histories:
        for line in open(path):
            f = line.split()
            if not f:
                continue
            kind = f[0]
            if kind == "poll":
                polls.append((int(f[1]), int(f[2]), int(f[3])))
                continue
            if kind in ("commit", "assigned", "commitfail"):
                continue
            if kind == "open":
                open_counts.append(int(f[1]) + int(f[2]))
                continue
            k = (path, int(f[1]))
            if kind == "invoke":
                invoked.add(k)
            elif kind == "half":
                halves.add(k)
                if planned_local_commit(k[1]) and len(f) > 3:
                    decided[k] = min(decided.get(k, int(f[3])), int(f[3]))
            elif kind == "fail":
                failed.add(k)
            elif kind == "info":
                unknown.add(k)
            elif kind == "end":
                ends[k] = f[2]
            elif kind == "endinfo":
                end_lost.add(k)
            elif kind == "check":
                checks += 1
                if f[2].isdigit():
                    max_checks = max(max_checks, int(f[2]))
                if len(f) > 5:  # keyed by the transaction's own producer
                    owner = (by_id.get(f[5], "?" + f[5]), int(f[1]))
                    checked.add(owner)
                    if f[3] == "commit":
                        decided[owner] = min(decided.get(owner, int(f[4])), int(f[4]))
    delivered, at = read_drain(a.drain, a.histories)
    # Precommitted read: a consumer polled the message before anyone decided to commit it.
    precommitted = [(p, o) for p, o, ms in polls if (p, o) in at and ms < decided.get(at[(p, o)], 1 << 62)]
    lost_commit = [k for k in halves if planned_commit(k[1]) and delivered[k] == 0]
    ghost = [k for k in delivered if not planned_commit(k[1])]
    unexpected = [k for k in delivered if k not in invoked or k in failed]
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    misapplied = [k for k, state in ends.items()
                  if (state == "committed") != planned_commit(k[1]) and state in ("committed", "rolled_back")]
    open_after = min(open_counts) if open_counts else None
    committed = sum(1 for k in invoked if planned_commit(k[1]))
    if a.decided_out:  # for rel_txn_audit: the outcomes the broker must hold, by state
        # A stored half (its ack: the `half` line) or a checked one (a producer answered for it).
        resolved = halves | set(checked)
        with open(a.decided_out, "w") as f:
            f.write(f"{sum(planned_commit(s) for _, s in resolved)} {sum(not planned_commit(s) for _, s in resolved)}\n")
    restarts = sum(1 for l in open(a.restarts) if l.strip())
    print(f"{a.name}: {len(invoked):,} transactions ({committed:,} to commit), {restarts} restarts, "
          f"{len(halves):,} halves stored: "
          f"lost-commit {len(lost_commit)}, ghost {len(ghost)}, unexpected {len(unexpected)}, "
          f"duplicates {duplicates}, misapplied {len(misapplied)}, checks {checks:,} (max {max_checks} per txn, "
          f"limit {a.check_max}), open after the run {'?' if open_after is None else open_after}, "
          f"unknown {len(unknown)}, end answer lost {len(end_lost)}, precommitted {len(precommitted)} "
          f"(of {len(polls):,} polls by a live consumer)")
    safe = not lost_commit and not ghost and not unexpected and duplicates == 0 and not misapplied \
        and max_checks <= a.check_max and open_after == 0 and not precommitted
    if a.expect_loss:
        return 0 if lost_commit or ghost else 1
    return 0 if safe else 1


def check_group(a):
    acked, polled, commits = set(), collections.Counter(), collections.defaultdict(list)
    polls = []  # (ms, partition, offset, ms the member was assigned the partition)
    consumers = 0
    for path in a.histories:
        consumers += path.rsplit("/", 1)[-1].startswith("c")
        assigned = {}  # partition -> ms of this member's latest assignment of it
        for line in open(path):
            f = line.split()
            if not f:
                continue
            if f[0] == "ok":
                acked.add((int(f[2]), int(f[3])))
            elif f[0] == "assigned":
                for part in f[2:]:
                    assigned[int(part)] = int(f[1])
            elif f[0] == "poll":
                polled[(int(f[1]), int(f[2]))] += 1
                polls.append((int(f[3]), int(f[1]), int(f[2]), assigned.get(int(f[1]), -1)))
            elif f[0] == "commit":
                for pos in f[2:]:
                    part, _, offset = pos.partition(":")
                    commits[int(part)].append((int(f[1]), int(offset)))
    lost = [k for k in acked if polled[k] == 0]
    regressions = 0
    for events in commits.values():
        events.sort()
        high = -1
        for _, offset in events:
            regressions += offset < high
            high = max(high, offset)
    # Against the commits acknowledged strictly before a time: a poll of an offset below a commit
    # acknowledged before the member was assigned the partition is redelivered after commit; below
    # one acknowledged only before the poll returned, it is a fetch served before the move.
    redelivered = served_before_move = 0
    for part, events in commits.items():
        times = [t for t, _ in events]
        highs = list(itertools.accumulate((o for _, o in events), max))

        def high_before(ms):
            i = bisect.bisect_left(times, ms) - 1
            return highs[i] if i >= 0 else -1

        for t, p, o, since in polls:
            if p != part:
                continue
            if o < high_before(since):
                redelivered += 1
            elif o < high_before(t):
                served_before_move += 1
    again = sum(n - 1 for n in polled.values() if n > 1)
    n_commits = sum(len(e) for e in commits.values())
    print(f"{a.name}: {len(acked):,} acked, {sum(polled.values()):,} polled by {consumers} consumer runs, "
          f"{n_commits:,} partition commits acknowledged: acked-unconsumed {len(lost)}, commit-regressions "
          f"{regressions}, redelivered-after-commit {redelivered}, polled again before a commit {again:,}, "
          f"served-before-move {served_before_move:,}")
    if a.expect_loss:  # T4c: the canary loses acknowledged commits; it must show up as such
        return 0 if regressions or redelivered else 1
    return 0 if not lost and regressions == 0 and redelivered == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--drain", required=True)
    ap.add_argument("--restarts", required=True)
    ap.add_argument("--expect-loss", action="store_true")
    ap.add_argument("--txn", action="store_true", help="T6's transaction histories (rel_client txn)")
    ap.add_argument("--group", action="store_true", help="T4's producer and consumer histories (rel_client consume)")
    ap.add_argument("--check-max", type=int, default=15, help="--txn: the broker's --check-max")
    ap.add_argument("--decided-out", help="--txn: write '<to commit> <to roll back>' of the transactions the "
                    "histories saw stored or checked (each must have an outcome: rel_txn_audit --expect)")
    ap.add_argument("histories", nargs="+")
    a = ap.parse_args()
    if a.txn:
        return check_txn(a)
    return check_group(a) if a.group else check_produce(a)


if __name__ == "__main__":
    sys.exit(main())
