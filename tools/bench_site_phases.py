#!/usr/bin/env python3
"""Time site.yml runs phase by phase against the lab (issue 24): the preflight and glue (tasks outside the roles),
each role, and the whole run, over several runs (min / median / max), from ansible.posix's profile_roles recap.

    .venv/bin/python tools/bench_site_phases.py --runs 5                    # the three-node lab (make lab)
    REDIS_HA_LAB_INVENTORY=$PWD/.cache/lab-5 .venv/bin/python tools/bench_site_phases.py --runs 5 --out x.json

Each run is a plain `ansible-playbook playbooks/site.yml` (on a converged lab: the no-op run operators repeat).
Every run must be a no-op: rc 0 and changed=0 on every node of the inventory in the play recap. A run that fails,
changes something or leaves a node out of the recap is printed as such with the tasks that changed (its output is
saved beside --out as <out>-run-K.log), and the tool then exits 1. --calls adds one -vvv run and counts the
commands sent to each node (the figure a no-op run should keep low). The JSON records REDIS_HA_GROUPS and the load
average before and after each run. Traffic goes only to the lab's own containers.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

import lab

ROOT = lab.ROOT
ROLES = ("redis", "sentinel", "metrics", "keepalived")
RECAP_LINE = re.compile(r"^(\S+) -+ (\d+\.\d+)s$")
HOST_LINE = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
TASK_LINE = re.compile(r"^(TASK|RUNNING HANDLER) \[(.*)\] \**$")
CHANGED_LINE = re.compile(r"^changed: \[([^\]]+)\]")


def run_site(timeout: float, verbose: bool = False, inventory: pathlib.Path | None = None,
             extra_env: dict | None = None) -> tuple[float, str, int]:
    """One site.yml run with profile_roles (-vvv: every command sent to a node shows): (seconds, output, rc).
    inventory defaults to the lab's (tools/bench_ssh.py passes its two); extra_env is added to the environment."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_roles", **(extra_env or {}))
    inventory = inventory or lab.INVENTORY
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"),
               str(ROOT / "playbooks" / "site.yml")] + (["-vvv"] if verbose else [])
    t0 = time.monotonic()
    res = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return time.monotonic() - t0, res.stdout + res.stderr, res.returncode


def phases(output: str) -> dict[str, float]:
    """Seconds per phase from the ROLES RECAP: each role, and 'preflight and glue' for everything outside them."""
    recap = output.split("ROLES RECAP", 1)[-1]
    found = {"preflight and glue": 0.0, **{role: 0.0 for role in ROLES}}
    for line in recap.splitlines():
        match = RECAP_LINE.match(line.strip())
        if match and match.group(1) != "total":
            name = match.group(1)
            found[name if name in ROLES else "preflight and glue"] += float(match.group(2))
    return found


def calls(output: str) -> dict[str, int]:
    """Commands sent to each node in a -vvv run (the connection plugin's EXEC lines)."""
    found: dict[str, int] = {}
    for host in re.findall(r"^<([^>]+)> EXEC ", output, re.MULTILINE):
        found[host] = found.get(host, 0) + 1
    return found


def changed(output: str) -> dict[str, int]:
    """changed= per host from the play recap."""
    return {m.group(1): int(m.group(3)) for m in map(HOST_LINE.match, output.splitlines()) if m}


def changed_tasks(output: str) -> list[str]:
    """'host: task' for each task (or handler) that reported changed on a host, in the order of the run."""
    found, task = [], "?"
    for line in output.splitlines():
        match = TASK_LINE.match(line)
        if match:
            task = match.group(2)
            continue
        match = CHANGED_LINE.match(line)
        if match:
            found.append("%s: %s" % (match.group(1).split(" ")[0], task))
    return found


def noop_problems(run: dict, nodes: list[str]) -> list[str]:
    """Why a run is not a no-op (empty when it is): rc, changed on a node, a node missing from the recap."""
    problems = [] if run["rc"] == 0 else ["rc %d" % run["rc"]]
    problems += ["changed=%d on %s" % (n, host) for host, n in sorted(run["changed"].items()) if n]
    problems += ["%s not in the play recap" % host for host in nodes if host not in run["changed"]]
    return problems


def summary(runs: list[dict]) -> list[list[str]]:
    """Rows phase, min, median, max over the runs."""
    rows = []
    for key in ["preflight and glue", *ROLES, "wall clock"]:
        values = [r["phases"][key] if key in r["phases"] else r["seconds"] for r in runs]
        rows.append([key, "%.1f" % min(values), "%.1f" % statistics.median(values), "%.1f" % max(values)])
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--out", type=pathlib.Path, help="JSON report")
    parser.add_argument("--calls", action="store_true", help="one more run with -vvv, counting commands per node")
    args = parser.parse_args(argv)
    runs, nodes = [], lab.nodes()
    for index in range(1, args.runs + 1):
        load_before = os.getloadavg()
        seconds, output, rc = run_site(args.timeout)
        run = {"run": index, "seconds": round(seconds, 2), "rc": rc, "changed": changed(output),
               "changed_tasks": changed_tasks(output), "phases": phases(output),
               "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()]}
        run["noop_problems"] = noop_problems(run, nodes)
        run["noop"] = not run["noop_problems"]
        runs.append(run)
        print("run %d/%d: %.1f s, rc %d, changed %s, load %.1f -> %.1f%s" % (
            index, args.runs, seconds, rc, run["changed"], load_before[0], os.getloadavg()[0],
            "" if run["noop"] else "\n  NOT A NO-OP: %s" % "; ".join(run["noop_problems"] + run["changed_tasks"])),
            flush=True)
        if not run["noop"] and args.out:
            log = args.out.with_name("%s-run-%d.log" % (args.out.stem, index))
            log.write_text(output)
            run["log"] = str(log)
    print("\nnodes: %d (%s)\n%s" % (len(lab.nodes()), lab.INVENTORY, "\n".join(
        "%-20s %8s %8s %8s" % tuple(row) for row in [["phase (s)", "min", "median", "max"]] + summary(runs))))
    report = {"nodes": nodes, "groups": os.environ.get("REDIS_HA_GROUPS") or "0",
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "runs": runs,
              "noop_runs": sum(r["noop"] for r in runs)}
    print("no-op (rc 0, changed=0 on all %d nodes): %d of %d runs" % (len(nodes), report["noop_runs"], len(runs)))
    if args.calls:
        _seconds, output, rc = run_site(args.timeout, verbose=True)
        report["calls"] = calls(output)
        print("commands sent to each node in one run (-vvv, rc %d): %s" % (rc, report["calls"]))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0 if all(r["noop"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
