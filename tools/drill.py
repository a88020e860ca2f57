"""Failover drills against the lab (or a Molecule scenario's nodes): write through the VIP on a steady
cadence, inject one fault, observe for a fixed period, report recovery, failed-write time, lost
acknowledged writes and writes accepted by a deposed master. Table + JSON + PNG timeline, N repeats.

    .venv/bin/python tools/drill.py kill-master --runs 5 --observe 25 --out docs/drills
    REDIS_HA_LAB_INVENTORY=inventories/drill .venv/bin/python tools/drill.py all --runs 5
    REDIS_HA_LAB_INVENTORY=inventories/drill .venv/bin/python tools/drill.py kill-master sentinel-failover --compare-recipe

Faults:
  kill-master        docker kill of the master container (restarted and rejoined after the run)
  power-off          the master host crashes: its container drops every packet (iptables, one docker exec), then
                     docker kill; unlike kill-master no FIN and no refused connect reaches the peers (restarted
                     and rejoined after the run)
  kill-redis-server  SIGKILL of redis-server only on the master (systemd restarts it)
  crash-restart      the same fault under the name of issue 10: the master's Redis crashes and comes back with its
                     data (append-only file intact)
  restart-empty      the master's data files are deleted, then its redis-server is killed (systemd restarts it
                     with an empty data set: the start-up guard must hold it until Sentinel has failed over)
  freeze-redis       SIGSTOP of redis-server on the master for --freeze seconds (default 6), then SIGCONT
  kill-replica       docker kill of one replica (restarted after the run)
  switchover         ansible-playbook playbooks/switchover.yml (planned, zero-loss sequence)
  rolling-restart    ansible-playbook playbooks/rolling_restart.yml (replicas, switchover, old master)
  upgrade            ansible-playbook playbooks/upgrade.yml (packages to REDIS_HA_REDIS_VERSION on the lab inventory)
  sentinel-failover  plain SENTINEL FAILOVER (the naive planned switchover, for comparison)
  stop-keepalived    systemctl stop keepalived on the master (started again after the run; by design the
                     VIP stays down until then, see docs/operations.md)
  crash-keepalived   SIGKILL of keepalived on the master (systemd restarts it: keepalived_restart)
  stale-old-master   kill the master, wait for the failover, then start the old master again (the fault
                     instant is the start of the stale old master)
  partition          iptables inside the master container (one docker exec, the rules at once): drop all traffic
                     to/from every other node, the control machine (the client) still reaches it (healed after
                     the run)
  stop-sentinel      systemctl stop redis-sentinel on the master node (started again after the run)
  handler-restarts   the Sentinel unit's drop-in and a file of the check changed on every node, then site.yml: its
                     handlers restart every Sentinel and reload every watcher, one node at a time
  migrate-engine     ansible-playbook playbooks/migrate_engine.yml with REDIS_HA_ENGINE=valkey (Redis ->
                     Valkey, node by node; one-way: the lab runs Valkey afterwards and the drill follows it)
  rotate-certs       a TLS lab (REDIS_HA_TLS=1 or own-ca) only: delete the node certificates of the lab's CA on the
                     control machine (own-ca: scripts/lab-own-ca.sh issues new ones), then ansible-playbook
                     playbooks/site.yml (the generated CA re-issues them; Redis loads them live, the Sentinels
                     restart one at a time)

--compare-recipe: in the same invocation, the faults (kill-master, sentinel-failover, stale-old-master,
switchover) run N times with the collection's configuration, then tools/recipe/apply.yml converts the nodes
to the common recipe (bash role:master track script every 30 s, VRRPv2, Sentinel defaults), the same faults
run N times against it (observed --recipe-observe seconds), and tools/recipe/restore.yml puts the
collection's configuration back (also after an error). The "planned switchover" pairs our switchover
playbook with the recipe's plain SENTINEL FAILOVER: with sentinel-failover, our side also runs switchover
(and the other way round). One JSON (<tag>.json), a side-by-side table (also <tag>.md), PNGs
<tag>-ours-<fault>-<run>.png and <tag>-recipe-<fault>-<run>.png.

Traffic goes only to the lab's own containers (addresses from the inventory chosen by
REDIS_HA_LAB_INVENTORY, see tools/lab.py); every loop is bounded in time.

This file is the command line and the Python API the suite's tests import (drill, Writer, stop_threads,
ansible_playbook, first_write_through_vip, wait_healthy); the code is in the drill_*.py modules beside it:
drill_group (the group's state, playbooks), drill_load (writer, monitor, keys), drill_faults (inject, repair),
drill_measure (one run's and a soak's figures), drill_report (tables, JSON stamp, plots), drill_run (one run,
a series, a soak), drill_recipe (--compare-recipe).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import drill_faults  # noqa: E402
import drill_run  # noqa: E402
from drill_faults import DEFAULT_FAULTS, FAULTS  # noqa: E402
from drill_group import ansible_playbook, first_write_through_vip, wait_healthy  # noqa: E402,F401 - the API
from drill_load import Writer, stop_threads  # noqa: E402,F401 - the API
from drill_measure import PARTITION_WINDOW_S  # noqa: E402
from drill_recipe import RECIPE_FAULTS, compare_recipe  # noqa: E402
from drill_report import compare_table, format_table, stamp, text_table  # noqa: E402
from drill_run import SOAK_FAULTS, drill, soak  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("faults", nargs="*", help="fault names (see below) or 'all'")
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="N faults drawn at random (from the faults given, default %s) in a row under one "
                             "writer; JSON soak.json and soak.png in --out" % " ".join(SOAK_FAULTS))
    parser.add_argument("--hold", type=float, default=8.0, help="soak: seconds each fault is held before its repair")
    parser.add_argument("--seed", type=int, default=None, help="soak: random seed (printed in the JSON)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--observe", type=float, default=25.0, help="seconds observed after the fault")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder for the JSON and PNG files")
    parser.add_argument("--compare-recipe", action="store_true",
                        help="also run the faults against the common recipe (tools/recipe), then restore")
    parser.add_argument("--recipe-observe", type=float, default=150.0,
                        help="seconds observed after the fault with the recipe (--compare-recipe)")
    parser.add_argument("--wait-replicas", type=int, default=0,
                        help="the writer sends WAIT N 200 after each SET; a write counts as acknowledged only when "
                             "WAIT reports N replicas (the zero-loss client)")
    parser.add_argument("--freeze", type=float, default=drill_faults.FREEZE_S,
                        help="seconds freeze-redis keeps Redis stopped")
    parser.add_argument("--tag", default="recipe-compare",
                        help="name of the JSON / table and prefix of the PNGs (--compare-recipe)")
    parser.add_argument("--setup-delay-us", type=int, default=None, metavar="N",
                        help="before each run, every node holds incoming TCP SYN and RST packets N microseconds "
                             "(tools/setup_delay.py): connection set-up takes a network round trip, as between "
                             "hosts, instead of being answered inside connect() as on the lab's shared kernel")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    drill_faults.FREEZE_S, drill_run.SETUP_DELAY_US = args.freeze, args.setup_delay_us  # for inject(), one_run()
    for f in args.faults if args.soak else []:
        if f not in FAULTS:
            parser.error("unknown fault %s" % f)
    if args.soak:
        return main_soak(args)
    if not args.faults:
        parser.error("name at least one fault")
    faults = list(DEFAULT_FAULTS) if args.faults == ["all"] else args.faults
    for f in faults:
        if f not in (RECIPE_FAULTS if args.compare_recipe else FAULTS):
            parser.error("unknown fault %s%s" % (f, " for --compare-recipe" if args.compare_recipe else ""))
    if args.compare_recipe:
        return main_compare(args, faults)
    report = drill(faults, args.runs, args.observe, args.out, wait_replicas=args.wait_replicas)
    stamp(report)
    print()
    print(format_table(report["summary"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / ("drill-%s%s.json" % ("-".join(faults) if len(faults) < 3 else "all",
                                                "-wait%d" % args.wait_replicas if args.wait_replicas else ""))
        path.write_text(json.dumps(report, indent=1, default=str))
        print("JSON: %s" % path)
    return 0


def main_soak(args) -> int:
    faults = tuple(args.faults) or SOAK_FAULTS
    seed = args.seed if args.seed is not None else int(time.time())
    report = soak(args.soak, args.out, args.hold, seed, faults, args.wait_replicas)
    stamp(report)
    report["command"] = "tools/drill.py " + " ".join(sys.argv[1:])
    print()
    print(text_table(["fault", "count", "acked lost", "VIP on the majority's master after it",
                      "whole again s (med/max)"],
                     [[f, str(r["count"]), str(r["lost"]), "%d/%d" % (r["vip_ok"], r["count"]),
                       "%s / %s" % (r["whole_after_s_median"], r["whole_after_s_max"])]
                      for f, r in report["per_fault"].items()]))
    print("soak: %d faults, %d acked writes, %d lost (%d outside the partition window of %.1f s), failed %.1f s, "
          "polls with two VIP holders: %d of %d%s" % (
              report["faults"], report["acked"], report["lost_acked"], report["lost_outside_partition_window"],
              PARTITION_WINDOW_S, report["failed_writes_s"], report["double_vip_polls"], report["vip_polls"],
              ", ABORTED: %s" % report["aborted"] if report["aborted"] else ""))
    fence = report["fence"]
    print("write fence: %d pauses, %d on a partitioned master (%d partitions), false pauses: %s" % (
        fence["pauses"], fence["on_partitioned_master"], fence["partitions"], fence["false_pauses"] or "none"))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "soak.json").write_text(json.dumps(report, indent=1, default=str))
        print("JSON: %s, plot: %s" % (args.out / "soak.json", args.out / "soak.png"))
    ok = (not report["aborted"] and report["vip_ok_after_every_fault"] and report["double_vip_polls"] == 0
          and report["lost_outside_partition_window"] == 0 and not fence["false_pauses"])
    return 0 if ok else 1


def main_compare(args, faults) -> int:
    report = compare_recipe(faults, args.runs, args.observe, args.recipe_observe, args.out, args.tag)
    stamp(report)
    report["command"] = "tools/drill.py " + " ".join(sys.argv[1:])
    report["comparison"] = compare_table(report["ours"]["summary"], report["recipe"]["summary"], markdown=True)
    print()
    print(compare_table(report["ours"]["summary"], report["recipe"]["summary"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / ("%s.json" % args.tag)).write_text(json.dumps(report, indent=1, default=str))
        (args.out / ("%s.md" % args.tag)).write_text(report["comparison"] + "\n")
        (args.out / ("%s-partial.json" % args.tag)).unlink(missing_ok=True)
        print("JSON: %s, table: %s" % (args.out / ("%s.json" % args.tag), args.out / ("%s.md" % args.tag)))
    return 0 if report.get("restore_rc") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
