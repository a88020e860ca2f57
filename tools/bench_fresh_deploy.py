#!/usr/bin/env python3
"""Time fresh deploys: each run removes the lab, creates N fresh nodes and runs playbooks/site.yml on them.

    .venv/bin/python tools/bench_fresh_deploy.py --nodes 5 --runs 10 --out .cache/bench/fresh-5.json

A run that has not ended after --timeout seconds (900) is recorded as HUNG: before its ansible-playbook is
stopped, each node's pending systemd jobs (the stuck units), their journal and the processes are saved beside
the JSON (<out>-logs/run-K-hang.txt, with each run's playbook output in run-K.log). Prints a line per run and a
summary (min / median / max seconds of the runs that ended, hung and failed counts). The nodes are made by
tools/lab_nodes.py (the Molecule scenario's definition); the last run's lab is left up (make lab-down removes
it). REDIS_HA_PLATFORM, REDIS_HA_ENGINE, REDIS_HA_TLS and REDIS_HA_GROUPS choose the lab as for make lab (the
JSON records them, and the load average before and after each site.yml run). Traffic goes only to
the lab's own containers.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time

import lab_nodes

ROOT = lab_nodes.ROOT


def playbook(inventory: pathlib.Path, name: str, log: pathlib.Path, timeout: float) -> subprocess.Popen:
    """ansible-playbook against the inventory, output to log, waited for up to timeout seconds: its returncode is
    None when it outlived them (it is still running then: stop() ends it)."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"))
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"),
               str(ROOT / name)]
    with log.open("a") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    return proc


def stop(proc: subprocess.Popen) -> None:
    """End a hung ansible-playbook and its workers (its own process group)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def node_shell(node: str, script: str) -> str:
    res = lab_nodes.docker("exec", node, "sh", "-c", script, check=False, timeout=60)
    return res.stdout + res.stderr


def stuck_units(node: str) -> list[str]:
    """The units of a node's pending systemd jobs (a start or stop that has not finished)."""
    out = node_shell(node, "systemctl list-jobs --no-legend --no-pager")
    return [line.split()[1] for line in out.splitlines() if len(line.split()) > 1 and line.split()[0].isdigit()]


def last_task(log: pathlib.Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    tasks = [line for line in lines if line.startswith(("TASK [", "RUNNING HANDLER"))]
    return tasks[-1].rstrip(" *") if tasks else "?"


def save_hang(nodes: list[str], log: pathlib.Path, path: pathlib.Path) -> dict[str, list[str]]:
    """Each node's pending jobs, the journal of their units (or of the whole boot when none) and its processes."""
    stuck, parts = {}, ["last task: %s\n" % last_task(log)]
    for node in nodes:
        units = stuck_units(node)
        stuck[node] = units
        parts.append("==== %s: pending jobs %s\n" % (node, units or "none"))
        parts.append(node_shell(node, "systemctl list-jobs --no-pager; systemctl --failed --no-pager"))
        journal = " ".join("-u %s" % unit for unit in units)
        parts.append(node_shell(node, "journalctl -b --no-pager -n 300 %s" % journal))
        parts.append(node_shell(node, "ps -eo pid,etimes,stat,args --sort=start_time | tail -n 40"))
    path.write_text("\n".join(parts))
    return {node: units for node, units in stuck.items() if units}


def one_run(index: int, nodes: int, timeout: float, logs: pathlib.Path) -> dict:
    lab_nodes.down()
    t0 = time.monotonic()
    inventory = lab_nodes.up(nodes)
    created = time.monotonic() - t0
    log = logs / ("run-%d.log" % index)
    log.write_text("")
    # the scenario's prepare: the lab's own CA and node certificates with REDIS_HA_TLS=own-ca, else nothing
    prepare = playbook(inventory, "molecule/default/prepare.yml", log, timeout)
    if prepare.returncode is None:
        stop(prepare)
    t1, load_before = time.monotonic(), os.getloadavg()
    proc = playbook(inventory, "playbooks/site.yml", log, timeout)
    run = {"run": index, "nodes": nodes, "create_s": round(created, 1), "site_s": round(time.monotonic() - t1, 1),
           "rc": proc.returncode, "hung": proc.returncode is None, "log": str(log),
           "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()]}
    if run["hung"]:
        names = [lab_nodes.node_name(k) for k in range(1, nodes + 1)]
        hang = logs / ("run-%d-hang.txt" % index)
        run.update(last_task=last_task(log), stuck_units=save_hang(names, log, hang), hang_log=str(hang))
        stop(proc)
    return run


def progress(run: dict, runs: int) -> str:
    if run["hung"]:
        return "run %d/%d: HUNG after %.0f s at %s, pending jobs %s (%s)" % (
            run["run"], runs, run["site_s"], run["last_task"], run["stuck_units"] or "none", run["hang_log"])
    return "run %d/%d: site.yml %.1f s, rc %d (nodes created in %.1f s)" % (
        run["run"], runs, run["site_s"], run["rc"], run["create_s"])


def summary(runs: list[dict]) -> dict:
    ended = [r["site_s"] for r in runs if not r["hung"]]
    stats = {"min_s": min(ended), "median_s": statistics.median(ended), "max_s": max(ended)} if ended else {}
    return {"runs": len(runs), "ended": len(ended), "hung": sum(r["hung"] for r in runs),
            "failed": sum(1 for r in runs if not r["hung"] and r["rc"]), **stats}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--nodes", type=lab_nodes.node_count, default=3)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900, help="seconds a site.yml run may take (900)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / ".cache" / "bench-fresh-deploy.json")
    args = parser.parse_args(argv)
    logs = args.out.with_name(args.out.stem + "-logs")
    logs.mkdir(parents=True, exist_ok=True)
    report = {"nodes": args.nodes, "timeout_s": args.timeout,
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "platform": os.environ.get("REDIS_HA_PLATFORM") or "debian12",
              "engine": os.environ.get("REDIS_HA_ENGINE") or "redis", "tls": os.environ.get("REDIS_HA_TLS") or "",
              "groups": os.environ.get("REDIS_HA_GROUPS") or "0", "runs": []}
    for index in range(1, args.runs + 1):
        report["runs"].append(one_run(index, args.nodes, args.timeout, logs))
        print(progress(report["runs"][-1], args.runs), flush=True)
        report["summary"] = summary(report["runs"])
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    s = report["summary"]
    print("%d nodes, %d runs: site.yml min %s / median %s / max %s s, %d hung, %d failed -> %s" % (
        args.nodes, s["runs"], s.get("min_s"), s.get("median_s"), s.get("max_s"), s["hung"], s["failed"], args.out))
    return 0 if not (s["hung"] or s["failed"]) else 1


if __name__ == "__main__":
    sys.exit(main())
