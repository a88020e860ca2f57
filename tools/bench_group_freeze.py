#!/usr/bin/env python3
"""A series of the per-group freeze drill (issue 27): SIGSTOP of one group's master server only, on a lab with two
groups on the same nodes (REDIS_HA_GROUPS=1: the group ha and the lab's group cache).

    REDIS_HA_GROUPS=1 make lab        # or: molecule create -s default + site.yml with REDIS_HA_GROUPS=1
    REDIS_HA_GROUPS=1 .venv/bin/python tools/bench_group_freeze.py --runs 5 --out docs/drills/groups/freeze.json

Each run is the drill of molecule/default/tests/test_11_groups.py (tools/drill_faults.py group_freeze, the same
code): both groups settled with their masters on one node (the group cache is switched over to the group ha's
master first when they are apart: playbooks/switchover.yml -e redis_ha_group_name=cache), a writer through each
group's VIP (a write every 20 ms, 0.2 s timeout), SIGSTOP of cache's server unit on that node, until cache's VIP
is on another node and a write through it succeeded, SIGCONT, until the thawed server is a replica and cache
settled, then every replica of both groups in sync before the next run. Seconds are counted from the return of the
SIGSTOP's `docker exec ... systemctl kill` (the server is stopped by then):

  vip_released_s      keepalived on the frozen node leaves MASTER for cache's instance (the lab's notify hook's
                      time stamp, /var/tmp/redis-vip-states.log: the VIP is removed then)
  sentinel_switch_s   a majority of cache's Sentinels name the new master (SENTINEL get-master-addr-by-name,
                      polled every 50 ms: it changes at +switch-master, after the promotion the check follows)
  vip_master_s        keepalived on the new node enters MASTER for cache's instance (the hook's time stamp: the
                      VIP is added then); vip_stable_s: its last entry into MASTER before the rejoin
  vip_flaps           how often the new node left MASTER again (FAULT or BACKUP: the VIP removed) after its first
                      entry, before the rejoin; every state change of the instance on every node is in the JSON (vrrp)
  vip_moved_s         the drill's own poll (docker exec ip addr on each node, every 0.2 s) sees the VIP moved:
                      test_11's figure, late by the poll
  first_write_s       the first acknowledged write through cache's VIP (its reply's arrival)
  recovery_s          the start of the final error-free period of cache's writes (docs/benchmarks.md's recovery)
  failed_s            seconds during which the writes of each group failed; failed: their count
  lost                acknowledged writes each group's master lacks afterwards
  rejoin_s            SIGCONT to the thawed server a replica and the group settled

A run passes on test_11's conditions (the VIP on one other node, a write back within 10 s, the group ha's VIP and
master unmoved, the thawed node a replica of the new master, 0 failed writes of the group ha, 0 acknowledged writes
lost in both, more than 100 writes each). One JSON with every run, the load average around each run and a summary
(min / median / max); a PNG timeline per run (<out stem>-<run>.png: the group ha's writes, cache's writes, which
node answered them, cache's VIP holder and what each of cache's Sentinels names). The lab is left with both masters
on one node again. Exits 1 when a run fails. Traffic goes only to the lab's own containers.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import statistics
import sys
import time

import drill_faults
import drill_group
import lab
from drill_load import Monitor
from drill_measure import _recovery as recovery
from drill_report import draw_timeline

ROOT = lab.ROOT
SETTLE_S = 180
FIGURES = ("vip_released_s", "sentinel_switch_s", "vip_master_s", "vip_stable_s", "vip_flaps", "vip_moved_s",
           "first_write_s", "recovery_s",
           "failed_s.ha", "failed_s.GROUP",
           "failed.ha", "failed.GROUP", "lost.ha", "lost.GROUP", "rejoin_s")


def in_sync(grp: str | None, ips: dict) -> bool:
    """Every replica of a group has its link to the master up and the master counts them all."""
    master = lab.group_settled(grp, ips)
    if not master:
        return False
    for name, ip in ips.items():
        client = lab.redis_client(ip, grp=grp)
        try:
            info = client.info("replication")
        except Exception:  # noqa: BLE001 - not answering: not in sync
            return False
        finally:
            client.close()
        if name == master and info.get("connected_slaves") != len(ips) - 1:
            return False
        if name != master and info.get("master_link_status") != "up":
            return False
    return True


def prepare(grp: str, ips: dict) -> tuple[str, bool]:
    """Both groups settled and in sync with their masters on one node (a switchover of grp when they are apart):
    (that node, whether a switchover was needed)."""
    if not lab.wait_for(lambda: all(in_sync(g, ips) for g in (None, grp)), SETTLE_S, step=1.0):
        raise RuntimeError("the groups did not settle in sync within %d s: %s" % (SETTLE_S, lab.status()))
    ha_master, master = lab.group_settled(None, ips), lab.group_settled(grp, ips)
    if master == ha_master:
        return master, False
    drill_group.progress("switching %s over to %s (the group ha's master)" % (grp, ha_master))
    rc = drill_group.run_playbook("switchover.yml", ["-e", "redis_ha_group_name=%s" % grp,
                                                     "-e", "switchover_to=%s" % ha_master])
    if rc or not lab.wait_for(lambda: lab.group_settled(grp, ips) == ha_master and in_sync(grp, ips), SETTLE_S):
        raise RuntimeError("the switchover of %s to %s failed (rc %s)" % (grp, ha_master, rc))
    return ha_master, True


def vrrp_transitions(grp: str, since_wall: float, until_wall: float) -> list[list]:
    """[seconds after since_wall, node, state] of each VRRP state change of grp's instance on every node between the
    two wall-clock times, in order (the lab's notify hook writes '<epoch> <state> <instance>' lines on each node)."""
    instance, found = lab.vrrp_instance(grp), []
    for node in lab.nodes():
        res = drill_group.node_exec(node, "cat", "/var/tmp/redis-vip-states.log")
        for line in res.stdout.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[2] == instance and since_wall < float(fields[0]) <= until_wall:
                found.append([round(float(fields[0]) - since_wall, 3), node, fields[1]])
    return sorted(found)


def flaps(vrrp: list[list], node: str | None) -> int:
    """How often node left MASTER (to BACKUP or FAULT: its VIP removed) in vrrp_transitions' list."""
    states = [state for _t, n, state in vrrp if n == node]
    return sum(1 for before, after in zip(states, states[1:]) if before == "MASTER" and after != "MASTER")


def sentinel_switch_at(monitor: Monitor, ips: dict, old: str, since: float) -> float | None:
    """Monotonic time of the first poll at which a majority of the Sentinels named a node other than old."""
    for t, named in monitor.sentinel:
        if t < since:
            continue
        votes = [ip for ip in named.values() if ip and ip != ips[old]]
        if votes and max(votes.count(ip) for ip in set(votes)) >= drill_group.majority(len(ips)):
            return t
    return None


def passed(r: dict, master: str) -> list[str]:
    """test_11's conditions the run missed (empty: passed)."""
    grp = r["group"]
    checks = [(r["moved"] and len(r["moved"]) == 1 and r["moved"][0] != master, "VIP moved to one other node"),
              (r["write_back"], "a write through the VIP within %d s" % drill_faults.GROUP_WRITE_BACK_S),
              (r["ha_unmoved"], "the group ha unmoved"),
              (r["moved"] and r["rejoined"] == r["moved"][0], "rejoined under the new master"),
              (r["failed"]["ha"] == 0, "0 failed writes of the group ha"),
              (r["lost"] == {"ha": 0, grp: 0}, "0 acknowledged writes lost"),
              (all(n > 100 for n in r["writes"].values()), "more than 100 writes each")]
    return [what for ok, what in checks if not ok]


def plot(path: pathlib.Path, r: dict, writers: dict, monitor: Monitor, ips: dict, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grp, t0 = r["group"], r["t_stopped"]
    for w in writers[grp].results:
        w["node"] = monitor.run_ids.get(w["run_id"], "?") if w["ok"] else None
    fig, axes = plt.subplots(5, 1, sharex=True, figsize=(10, 7), gridspec_kw={"height_ratios": [0.8, 1, 1.2, 1.2, 1.2]})
    ha = writers[None].results
    axes[0].vlines([w["t0"] - t0 for w in ha if w["ok"]], 0.5, 1.5, colors="tab:green", linewidth=0.6)
    axes[0].vlines([w["t0"] - t0 for w in ha if not w["ok"]], -0.5, 0.5, colors="tab:red", linewidth=0.6)
    axes[0].set_yticks([0, 1], ["failed", "ok"])
    axes[0].set_ylabel("ha\nwrites", fontsize=8)
    draw_timeline(axes[1:], writers[grp].results, monitor, ips, t0)
    axes[1].set_ylabel("%s\nwrites" % grp, fontsize=8)
    rows = {n: i for i, n in enumerate(ips)}  # draw_timeline's rows; the notify hook's VRRP changes on the VIP pane
    for entered, color, marker in ((True, "tab:green", "^"), (False, "tab:red", "v")):
        points = [(t, rows[n]) for t, n, state in r["vrrp"] if (state == "MASTER") == entered]
        if points:
            axes[3].scatter(*zip(*points), s=30, c=color, marker=marker,
                            label="VRRP %s" % ("MASTER (VIP added)" if entered else "BACKUP/FAULT (VIP removed)"))
    axes[3].legend(fontsize=6, loc="upper right")
    axes[0].set_title(title, fontsize=9)
    marks = [(0, "black", "SIGSTOP"), (r["vip_released_s"], "tab:red", "VIP off"),
             (r["vip_master_s"], "tab:orange", "VIP MASTER"),
             (r["first_write_s"], "tab:green", "first write"), (r["frozen_s"], "tab:blue", "SIGCONT")]
    for x, color, label in marks:
        if x is not None:
            for ax in axes:
                ax.axvline(x, color=color, linestyle="--", linewidth=0.8)
            axes[0].text(x, 1.6, label, fontsize=6, color=color)
    axes[-1].set_xlabel("seconds from the SIGSTOP of %s's master server (%s)" % (grp, r["unit"]))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def one_run(index: int, grp: str, out: pathlib.Path) -> dict:
    ips = lab.node_ips()
    master, switched = prepare(grp, ips)
    load_before = os.getloadavg()
    monitor = Monitor(ips, grp=grp)
    monitor.start()
    drill_group.progress("run %d: SIGSTOP of %s on %s" % (index, lab.unit("server", grp), master))
    r, writers = drill_faults.group_freeze(grp, master, ips, observers=[monitor])
    monitor.learn_run_ids()
    wall_stopped = r["wall_sent"] + r["exec_s"]
    # VRRP of grp's instance from the SIGSTOP's return to the rejoin, on every node: the VIP is removed when a node
    # leaves MASTER and added when it enters it; a new holder that leaves MASTER again before the rejoin is a flap
    r["vrrp"] = vrrp_transitions(grp, wall_stopped, wall_stopped + r["t_rejoined"] - r["t_stopped"])
    released = next((t for t, node, state in r["vrrp"] if node == master and state != "MASTER"), None)
    new = r["moved"][0] if r["moved"] else None
    entered = [t for t, node, state in r["vrrp"] if node == new and state == "MASTER"]
    r["vip_flaps"] = flaps(r["vrrp"], new)
    after = [w for w in writers[grp].results if w["t0"] >= r["t_stopped"]]
    back = recovery(after, r["t_stopped"], writers[grp].results[-1]["t0"])
    # what the failed writes said, before and after the first acknowledged one (a freeze times out; -NOREPLICAS ...)
    first = r["first_write_s"] + r["t_stopped"] if r["first_write_s"] is not None else float("inf")
    r["errors"] = {when: dict(collections.Counter((w["err"] or "")[:45] for w in after
                                                  if not w["ok"] and (w["t0"] > first) == (when == "after_first")))
                   for when in ("before_first", "after_first")}
    switch = sentinel_switch_at(monitor, ips, master, r["t_stopped"])
    r.update(run=index, aligned_by_switchover=switched, load_before=[round(x, 2) for x in load_before],
             load_after=[round(x, 2) for x in os.getloadavg()],
             vip_master_s=entered[0] if entered else None, vip_stable_s=entered[-1] if entered else None,
             vip_released_s=released,
             recovery_s=round(back, 3) if back is not None else None,
             sentinel_switch_s=round(switch - r["t_stopped"], 3) if switch else None)
    r["problems"] = passed(r, master)
    r["passed"] = not r["problems"]
    png = out.with_name("%s-%d.png" % (out.stem, index))
    title = "%s run %d: %s frozen on %s; Sentinels %s s, VIP %s s, first write %s s, failed %s, lost %s" % (
        grp, index, grp, master, r["sentinel_switch_s"], r["vip_master_s"], r["first_write_s"], r["failed"], r["lost"])
    plot(png, r, writers, monitor, ips, title)
    r["plot"] = str(png.relative_to(ROOT)) if png.is_relative_to(ROOT) else str(png)
    return r


def figure(r: dict, key: str, grp: str):
    value = r
    for part in key.replace("GROUP", grp).split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def summary(runs: list[dict], grp: str) -> dict:
    found = {}
    for key in FIGURES:
        values = [figure(r, key, grp) for r in runs]
        values = [v for v in values if v is not None]
        if values:
            found[key.replace("GROUP", grp)] = {"min": min(values), "median": statistics.median(values),
                                                "max": max(values), "runs": len(values)}
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--group", help="the group to freeze (the lab's first further group)")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / ".cache" / "bench-group-freeze.json")
    args = parser.parse_args(argv)
    if not lab.groups():
        parser.error("the lab has one group: REDIS_HA_GROUPS=1 (and a lab deployed with it)")
    grp = args.group or lab.groups()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "REDIS_HA_GROUPS=%s .venv/bin/python tools/bench_group_freeze.py --runs %d --out %s" % (
        os.environ.get("REDIS_HA_GROUPS"), args.runs, args.out)
    report = {"group": grp, "nodes": lab.nodes(), "inventory": str(lab.INVENTORY), "platform": lab.platform(),
              "engine": lab.engine(), "tls": lab.tls_mode(), "groups": lab.groups(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "command": command, "runs": []}
    for index in range(1, args.runs + 1):
        r = one_run(index, grp, args.out)
        report["runs"].append(r)
        print("run %d/%d: %s; VIP off %s s, Sentinels %s s, VIP MASTER %s s (last %s s, %d flaps; poll %s s), "
              "first write %s s, "
              "recovery %s s, failed %s (%s s), lost %s, rejoined after %s s, load %.1f -> %.1f" % (
                  index, args.runs, "passed" if r["passed"] else "FAILED: %s" % ", ".join(r["problems"]),
                  r["vip_released_s"], r["sentinel_switch_s"], r["vip_master_s"], r["vip_stable_s"], r["vip_flaps"],
                  r["vip_moved_s"],
                  r["first_write_s"], r["recovery_s"], r["failed"],
                  r["failed_s"], r["lost"], r["rejoin_s"], r["load_before"][0], r["load_after"][0]), flush=True)
        report["summary"] = summary(report["runs"], grp)
        report["passed_runs"] = sum(x["passed"] for x in report["runs"])
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    prepare(grp, lab.node_ips())  # leave the lab as test_11 expects it: both masters on one node
    print("\n%-20s %8s %8s %8s" % ("%s, %d runs" % (grp, args.runs), "min", "median", "max"))
    for key, row in report["summary"].items():
        print("%-20s %8.3g %8.3g %8.3g" % (key, row["min"], row["median"], row["max"]))
    print("passed %d of %d -> %s" % (report["passed_runs"], args.runs, args.out))
    return 0 if report["passed_runs"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
