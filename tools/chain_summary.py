#!/usr/bin/env python3
"""Summarise kill-master series of tools/drill.py (its JSON files): per series the median / max of the first write
accepted after the failure, of the recovery, of the failed-write time and of the lost acknowledged writes, and the
median time of each step of Sentinel's failover chain (seconds after the fault), so that where the time goes shows.

    .venv/bin/python tools/chain_summary.py on=docs/drills/follow/plain-on/drill-kill-master.json \
        off=docs/drills/follow/plain-off/drill-kill-master.json \
        --follow-delays redis-drill-1 redis-drill-2 redis-drill-3 --since "2026-12-07 11:10"
"""

import argparse
import datetime
import json
import pathlib
import re
import statistics
import subprocess

FIGURES = (("first ok s", "first_ok_after_failure_s"), ("recovery s", "recovery_s"), ("failed s", "failed_s"),
           ("lost", "lost_acked"))
PROMOTION = "+failover-state-wait-promotion"
CHAIN = ("+odown", "+failover-state-wait-promotion", "keepalived MASTER", "+promoted-slave", "+switch-master")


def _mm(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%s / %s" % (round(statistics.median(values), 3), round(max(values), 3))


def summarise(label, path, fault="kill-master"):
    runs = [r for r in json.loads(pathlib.Path(path).read_text())["runs"] if r["fault"] == fault]
    row = [label, str(len(runs))] + [_mm([r[key] for r in runs]) for _title, key in FIGURES]
    for step in CHAIN:
        times = [r["failover_chain_s"].get(step) for r in runs if r.get("failover_chain_s")]
        times = [t for t in times if t is not None]
        row.append("%.2f" % statistics.median(times) if times else "-")
    after = [r["first_ok_after_failure_s"] - r["failover_chain_s"][PROMOTION] for r in runs
             if r.get("failover_chain_s", {}).get(PROMOTION) is not None and r["first_ok_after_failure_s"] is not None]
    row.append(_mm(after))
    before = sum(1 for r in runs if r.get("failover_chain_s", {}).get("+promoted-slave") is not None
                 and r["first_ok_after_failure_s"] is not None
                 and r["first_ok_after_failure_s"] < r["failover_chain_s"]["+promoted-slave"])
    return row + ["%d of %d" % (before, len(runs))]


_SENTINEL_LINE = re.compile(r"(\d+ \w+ \d+ [\d:.]+) \* \+failover-state-wait-promotion slave (\S+) ")
_WATCHER_LINE = re.compile(r"^(\S+) .*following the failover leader's promotion: .* from (\S+)$")


def follow_delays(containers, since):
    """Seconds from each leader's +failover-state-wait-promotion (its Sentinel log) to the watcher line saying a
    replica followed that node (journal of redis-vip-watch), both read in the containers (one kernel clock)."""
    announced, followed = [], []
    for name in containers:
        log = subprocess.run(["docker", "exec", name, "cat", "/var/log/redis/redis-sentinel.log"],
                             capture_output=True, text=True, check=False).stdout
        for when, node in _SENTINEL_LINE.findall(log):
            announced.append((datetime.datetime.strptime(when, "%d %b %Y %H:%M:%S.%f").timestamp(), node))
        journal = subprocess.run(["docker", "exec", name, "journalctl", "-u", "redis-vip-watch", "--no-pager",
                                  "-o", "short-iso-precise", "--since", since],
                                 capture_output=True, text=True, check=False).stdout
        for line in journal.splitlines():
            found = _WATCHER_LINE.match(line)
            if found:
                when = datetime.datetime.fromisoformat(found.group(1)).replace(tzinfo=None).timestamp()
                followed.append((when, found.group(2)))
    delays = []
    for when, node in followed:
        earlier = [t for t, n in announced if n == node and 0 <= when - t < 5]
        if earlier:
            delays.append(round(when - max(earlier), 3))
    return delays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", nargs="+", help="label=path of a drill JSON")
    parser.add_argument("--fault", default="kill-master")
    parser.add_argument("--follow-delays", nargs="+", metavar="CONTAINER", default=(),
                        help="also print the delays from each announced promotion to a replica following it")
    parser.add_argument("--since", default="today", help="journal start for --follow-delays (journalctl --since)")
    args = parser.parse_args(argv)
    if args.follow_delays:
        delays = follow_delays(args.follow_delays, args.since)
        middle = statistics.median(delays) if delays else "-"
        print("follow delays s (%d): %s; median %s, max %s"
              % (len(delays), sorted(delays), middle, max(delays, default="-")))
    head = ["series", "runs"] + [t + " (med / max)" for t, _k in FIGURES] + ["median " + s for s in CHAIN]
    head += ["first ok after %s (med / max)" % PROMOTION, "first ok before +promoted-slave"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for item in args.series:
        label, _sep, path = item.partition("=")
        print("| " + " | ".join(summarise(label, path, args.fault)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
