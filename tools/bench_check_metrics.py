#!/usr/bin/env python3
"""The VIP check's evaluation time with its metrics file on and off (issue 26), on one lab node.

    python tools/bench_check_metrics.py [--node redis-ha-1] [--evaluations 600] [--rounds 5]

Runs, inside the node (docker exec, the node's own python3 and the installed check package), the watcher's loop
body back to back: one evaluation against the node's Redis and every Sentinel (the check's config file, a kept
connection pool, as the watcher does), plus, with metrics on, the metrics update (render + the atomic file write
at most once a second, as the watcher does; the file goes to a temporary folder). Alternating rounds of off / on;
prints min / median / p95 / max of the per-evaluation time in ms for each, over all rounds. The watcher itself
keeps running: this measures the same work beside it. The lab's inventory picks the node (tools/lab.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import lab

INSIDE = r"""
import json, sys, tempfile, time
sys.path.insert(0, "/usr/local/lib/redis-vip-check")
from redis_vip_check.settings import load_settings
from redis_vip_check.transport import Pool
from redis_vip_check.verdict import evaluate
from redis_vip_check.metrics import Metrics
n, rounds = int(sys.argv[1]), int(sys.argv[2])
settings = load_settings("/etc/keepalived/redis-vip-check.conf")
settings["metrics_file"] = tempfile.mkdtemp() + "/check.prom"
pool, times = Pool(), {"off": [], "on": []}
metrics = Metrics(settings)
for r in range(rounds):
    for mode in ("off", "on"):
        for _ in range(n):
            t0 = time.monotonic()
            result = evaluate(settings, start=t0, pool=pool)
            if mode == "on":
                metrics.update(result, time.monotonic() - t0)
            times[mode].append((time.monotonic() - t0) * 1000)
            time.sleep(0.002)
print(json.dumps(times))
"""


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {"n": len(values), "min": round(values[0], 3), "median": round(statistics.median(values), 3),
            "p95": round(values[int(len(values) * 0.95) - 1], 3), "max": round(values[-1], 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node", default=None, help="lab node (default: the first)")
    parser.add_argument("--evaluations", type=int, default=600, help="evaluations per mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    node = args.node or lab.nodes()[0]
    out = lab.docker("exec", node, "python3", "-c", INSIDE, str(args.evaluations), str(args.rounds),
                     timeout=600).stdout
    times = json.loads(out)
    report = {"node": node, "engine": lab.engine(), "platform": lab.platform(),
              "off": summary(times["off"]), "on": summary(times["on"])}
    print("evaluation ms      min     median  p95     max     (n)")
    for mode in ("off", "on"):
        s = report[mode]
        print("metrics %-4s  %7.3f %7.3f %7.3f %7.3f  (%d)" % (mode, s["min"], s["median"], s["p95"], s["max"], s["n"]))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
