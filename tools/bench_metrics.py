#!/usr/bin/env python3
"""CPU and memory of the exporters on every lab node (issue 26): redis_exporter of the server and of Sentinel, and
prometheus-node-exporter, sampled from /proc on the node (utime + stime over each interval, VmRSS at its end).

    .venv/bin/python tools/bench_metrics.py --samples 12 --interval 5      # a converged lab with redis_ha_metrics

Run it while something scrapes the exporters (the default scenario's Prometheus on Debian 12 + Redis scrapes every
2 s); prints per node and unit the median and max of CPU % of one core and of RSS MiB, and --out writes the JSON.
Traffic goes only to the lab's own containers (docker exec).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics

import lab

UNITS = ("redis-ha-exporter@redis", "redis-ha-exporter@sentinel", "prometheus-node-exporter")
# Runs on the node (python3 is there): one JSON line {unit: [[cpu %, rss MiB], ...]}.
PROBE = r"""
import json, os, subprocess, sys, time
units, samples, interval = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3])
pids = {u: subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", u], capture_output=True,
                          text=True).stdout.strip() for u in units}
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def rss(pid):
    line = next(l for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024
out = {u: [] for u in units}
before, t0 = {u: cpu(p) for u, p in pids.items()}, time.monotonic()
for _ in range(samples):
    time.sleep(interval)
    now, t1 = {u: cpu(p) for u, p in pids.items()}, time.monotonic()
    for u, p in pids.items():
        out[u].append([100 * (now[u] - before[u]) / (t1 - t0), rss(p)])
    before, t0 = now, t1
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--out")
    args = parser.parse_args()
    def probe(node):  # the nodes at the same time
        return lab.docker("exec", node, "python3", "-c", PROBE, ",".join(UNITS), str(args.samples), str(args.interval),
                          check=False, timeout=args.samples * args.interval + 60)

    with concurrent.futures.ThreadPoolExecutor(len(lab.nodes())) as pool:
        procs = dict(zip(lab.nodes(), pool.map(probe, lab.nodes())))
    report = {}
    print("%-11s %-27s %8s %8s %9s %9s" % ("node", "unit", "cpu% med", "cpu% max", "MiB med", "MiB max"))
    for node, proc in procs.items():
        if proc.returncode != 0:
            raise SystemExit("%s: %s" % (node, proc.stderr))
        report[node] = json.loads(proc.stdout)
        for unit, values in report[node].items():
            cpu, mem = [v[0] for v in values], [v[1] for v in values]
            print("%-11s %-27s %8.2f %8.2f %9.1f %9.1f" % (node, unit, statistics.median(cpu), max(cpu),
                                                           statistics.median(mem), max(mem)))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"samples": args.samples, "interval_s": args.interval, "nodes": report}, handle, indent=1)


if __name__ == "__main__":
    main()
