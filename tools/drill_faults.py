"""The drills' faults and their repair (tools/drill.py; the list with what each does is in its help): inject()
returns the monotonic instant of the fault, repair() undoes it. Traffic goes only to the lab's own containers."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import lab
import restart_races
from drill_group import first_write_through_vip, node_exec, now, run_playbook
from drill_load import group_writers, lost_writes, stop_threads
from drill_measure import failed_seconds, wait_in_sync

FAULTS = ("kill-master", "power-off", "kill-redis-server", "switchover", "rolling-restart", "migrate-engine",
          "sentinel-failover", "stop-keepalived", "crash-keepalived", "stale-old-master", "partition", "stop-sentinel",
          "crash-restart", "restart-empty", "freeze-redis", "kill-replica", "rotate-certs", "handler-restarts",
          "restart-sentinels", "cpu-load", "upgrade")
DEFAULT_FAULTS = ("kill-master", "kill-redis-server", "switchover", "stale-old-master", "partition", "stop-sentinel",
                  "crash-keepalived")
PLAYBOOK_FAULTS = ("switchover", "rolling-restart", "migrate-engine", "rotate-certs", "handler-restarts", "upgrade")
CPU_LOAD_S, CPU_LOOPS = 20, 4  # cpu-load: busy loops on the master for this long (the watcher's CPU is stressed)
SENTINEL_GAP_S = 2.0      # restart-sentinels: pause between two nodes' Sentinel restarts
FREEZE_S = 6.0            # freeze-redis: seconds between SIGSTOP and SIGCONT (--freeze)
GROUP_FAILOVER_BOUND_S = 60   # group_freeze: the frozen group's VIP has moved by then,
GROUP_WRITE_BACK_S = 10       # a write through it has succeeded by this long after,
GROUP_REJOIN_BOUND_S = 120    # and the thawed server is a replica again and the group settled by this long after


def reissue_node_certificates() -> list[str]:
    """Delete the node certificates of the lab's CA; the next site.yml issues new ones (generated CA), or the
    operator's CA does now (own-ca: scripts/lab-own-ca.sh, as molecule/default/prepare.yml runs it). Their names."""
    if not lab.tls():
        raise RuntimeError("rotate-certs needs a TLS lab (REDIS_HA_TLS=1 or own-ca)")
    gone = sorted("%s.crt" % name for name in lab.nodes() if (lab.TLS_CA_DIR / ("%s.crt" % name)).exists())
    for name in gone:
        (lab.TLS_CA_DIR / name).unlink()
    if lab.tls_mode() == "own-ca":
        subprocess.run([str(lab.ROOT / "scripts" / "lab-own-ca.sh"), str(lab.TLS_CA_DIR),
                        ",".join(lab.group_vars()["redis_ha_vips"])]
                       + ["%s=%s" % item for item in lab.node_ips().items()],
                       check=True, capture_output=True, text=True, timeout=60)
    return gone


def partition_rules(master: str, ips: dict, action: str) -> str:
    """One shell line inserting (-I) or deleting (-D) the DROP rules for both peers, so that the partition
    starts (and heals) at once, not one docker exec per rule."""
    rules = []
    for ip in [ip for n, ip in ips.items() if n != master]:
        rules += ["iptables %s INPUT -s %s -j DROP" % (action, ip), "iptables %s OUTPUT -d %s -j DROP" % (action, ip)]
    return "; ".join(rules)


def _timed(action):
    """A fault that is one action on the master: its instant is taken just before the action."""
    def fault(master, ips, note, failover_s):
        t = now()
        action(master)
        return t
    return fault


def _power_off(master):
    node_exec(master, "sh", "-c", "iptables -I INPUT -j DROP; iptables -I OUTPUT -j DROP")
    lab.docker("kill", master)


def _restart_empty(master, ips, note, failover_s):
    data = lab.group_vars().get("redis_data_dir", lab.units()["data_dir"])
    t = now()
    node_exec(master, "sh", "-c", "rm -rf %s/appendonlydir %s/dump.rdb && systemctl kill -s KILL %s"
              % (data, data, lab.units()["server"]))
    return t


def _kill_unit(unit_key):
    """SIGKILL of one unit on the master: keepalived, or the engine's unit named by unit_key (read at the fault)."""
    return lambda master: node_exec(master, "systemctl", "kill", "-s", "KILL",
                                    "keepalived" if unit_key == "keepalived" else lab.units()[unit_key])


def _freeze_redis(master, ips, note, failover_s):
    t = now()
    node_exec(master, "systemctl", "kill", "-s", "STOP", lab.units()["server"])
    cont = (master, "systemctl", "kill", "-s", "CONT", lab.units()["server"])
    timer = threading.Timer(FREEZE_S - (now() - t), node_exec, cont)
    timer.daemon = True
    timer.start()
    note["freeze_s"] = FREEZE_S
    return t


def _kill_replica(master, ips, note, failover_s):
    note["target"] = next(n for n in ips if n != master)
    t = now()
    lab.docker("kill", note["target"])
    return t


def _sentinel_failover(master, ips, note, failover_s):
    cli = lab.sentinel_client(ips[master], timeout=2)
    t = now()
    cli.execute_command("SENTINEL", "FAILOVER", lab.master_name())
    cli.close()
    return t


def _playbook(fault):
    """switchover, rolling-restart, migrate-engine, upgrade: their playbook; rotate-certs, handler-restarts: site.yml
    after their change. The instant is the playbook's start."""
    def run(master, ips, note, failover_s):
        if fault == "migrate-engine":
            os.environ["REDIS_HA_ENGINE"] = "valkey"  # the lab inventory's redis_ha_engine follows it, and lab.units()
        if fault == "rotate-certs":
            note["reissued"] = reissue_node_certificates()
        if fault == "handler-restarts":
            note["changed_files"] = restart_races.change_handler_inputs(list(ips))
        t = now()
        site = fault in ("rotate-certs", "handler-restarts")
        note["playbook_rc"] = run_playbook("site.yml" if site else fault.replace("-", "_") + ".yml")
        note["playbook_s"] = round(now() - t, 2)
        return t
    return run


def _restart_sentinels(master, ips, note, failover_s):
    t = now()
    for node in ips:  # one node at a time, each back before the next (as the handlers do)
        node_exec(node, "systemctl", "restart", lab.units()["sentinel"], timeout=60)
        time.sleep(SENTINEL_GAP_S)
    return t


def _cpu_load(master, ips, note, failover_s):
    t = now()
    lab.docker("exec", "-d", master, "sh", "-c", "for i in $(seq %d); do timeout %d sh -c 'while :; do :; done' & "
               "done; wait" % (CPU_LOOPS, CPU_LOAD_S))
    note.update(cpu_load_s=CPU_LOAD_S, busy_loops=CPU_LOOPS)
    return t


def _partition(master, ips, note, failover_s):
    t = now()
    # The cut is read inside the node (the same clock as ours: one kernel) just before the first rule goes in
    # (the docker exec starts 0.05-0.3 s earlier on a busy machine); putting the four rules in takes a few ms.
    out = node_exec(master, "sh", "-c", "date +%s.%N; " + partition_rules(master, ips, "-I") + "; date +%s.%N")
    stamps = [float(x) for x in out.stdout.split()[-2:]] if out.returncode == 0 else []
    offset = time.time() - now()
    t_cut = stamps[0] - offset if len(stamps) == 2 else t
    note["cut_after_exec_s"] = round(t_cut - t, 3)
    note["cut_rules_s"] = round(stamps[1] - stamps[0], 3) if len(stamps) == 2 else None
    return t_cut


def _stale_old_master(master, ips, note, failover_s):
    lab.docker("kill", master)
    # wait (bounded) until a write through the VIP succeeds again, then let the stale old master boot
    t_kill = now()
    t_ok, _attempts, _error = first_write_through_vip("drill:probe", "1", t_kill, failover_s)
    note["failover_before_restart"] = t_ok is not None
    note["kill_to_failover_s"] = round(now() - t_kill, 2)
    t = now()
    lab.docker("start", master)
    return t


INJECT = {
    "kill-master": _timed(lambda master: lab.docker("kill", master)),
    "power-off": _timed(_power_off),
    "kill-redis-server": _timed(_kill_unit("server")),
    "crash-restart": _timed(_kill_unit("server")),
    "crash-keepalived": _timed(_kill_unit("keepalived")),
    "restart-empty": _restart_empty,
    "freeze-redis": _freeze_redis,
    "kill-replica": _kill_replica,
    "stop-keepalived": _timed(lambda master: node_exec(master, "systemctl", "stop", "keepalived")),
    "stop-sentinel": _timed(lambda master: node_exec(master, "systemctl", "stop", lab.units()["sentinel"])),
    "sentinel-failover": _sentinel_failover,
    **{fault: _playbook(fault) for fault in PLAYBOOK_FAULTS},
    "restart-sentinels": _restart_sentinels,
    "cpu-load": _cpu_load,
    "partition": _partition,
    "stale-old-master": _stale_old_master,
}


def inject(fault: str, master: str, ips: dict, note: dict, failover_s: float = 60.0):
    """Inject the fault; returns the monotonic time of the fault instant."""
    if fault not in INJECT:
        raise ValueError(fault)
    return INJECT[fault](master, ips, note, failover_s)


def repair(fault: str, master: str, ips: dict, note: dict | None = None) -> dict:
    """Undoes the fault; for a node that restarts, returns how long it took to be a replica in sync again."""
    if fault in ("kill-master", "power-off", "kill-replica"):
        node = (note or {}).get("target", master)
        t = now()
        lab.docker("start", node, check=False)
        return wait_in_sync(node, t)
    if fault == "freeze-redis":
        node_exec(master, "systemctl", "kill", "-s", "CONT", lab.units()["server"])
    elif fault in ("stop-keepalived", "crash-keepalived"):
        node_exec(master, "systemctl", "start", "keepalived")  # a no-op when systemd restarted it
    elif fault == "stop-sentinel":
        node_exec(master, "systemctl", "start", lab.units()["sentinel"])
    elif fault == "partition":
        node_exec(master, "sh", "-c", partition_rules(master, ips, "-D"))
    return {}


def group_freeze(grp: str, master: str, ips: dict, observers=()) -> tuple[dict, dict]:
    """The isolation drill of several groups on the same nodes (issue 27, docs/group-model.md): a writer through the
    VIP of the group ha and one through the VIP of `grp`, then SIGSTOP of `grp`'s server unit on `master` only; waits
    (bounded) until `grp`'s VIP is on one other node, until a write through it succeeds, and checks that the group
    ha's VIP and master stayed on `master`; then SIGCONT and waits until the thawed server is a replica and `grp`
    settled again. Stops the writers (and the started `observers`, threads with a stop Event) and counts each group's
    failed writes and the acknowledged writes its master lacks. molecule/default/tests/test_11_groups.py asserts on
    the result, tools/bench_group_freeze.py times it. Returns (result, writers): monotonic instants t_*; seconds from
    the SIGSTOP's return (systemctl kill has signalled the server by then) *_s; None where a bound ran out."""
    unit = lab.unit("server", grp)
    writers = group_writers((None, grp))
    time.sleep(1.0)
    result = {"group": grp, "frozen": master, "unit": unit, "t_sent": now(), "wall_sent": time.time()}
    node_exec(master, "systemctl", "kill", "-s", "STOP", unit)
    result["t_stopped"] = t_stopped = now()
    try:
        moved = lab.wait_for(lambda: lab.vip_holders(grp) not in ([], [master]) and lab.vip_holders(grp),
                             GROUP_FAILOVER_BOUND_S)
        result["t_moved"] = now()
        result["moved"] = moved or None
        # writes through the frozen group's VIP succeed again (on the new master)
        result["write_back"] = bool(lab.wait_for(
            lambda: any(r["ok"] and r["t0"] > result["t_sent"] for r in writers[grp].results[-5:]), GROUP_WRITE_BACK_S))
        # the group ha did not move
        result["ha_unmoved"] = lab.vip_holders() == [master] and lab.group_master(None, ips) == master
    finally:
        node_exec(master, "systemctl", "kill", "-s", "CONT", unit)
        result["t_cont"] = now()
    result["rejoined"] = lab.wait_for(lambda: lab.redis_role(ips[master], grp=grp) == "slave"
                                      and lab.group_settled(grp, ips), GROUP_REJOIN_BOUND_S) or None
    result["t_rejoined"] = now()
    time.sleep(1.0)
    stop_threads(*writers.values(), *observers)
    names = {g: g or "ha" for g in writers}
    result["writes"] = {names[g]: len(w.results) for g, w in writers.items()}
    result["failed"] = {names[g]: sum(1 for r in w.results if not r["ok"]) for g, w in writers.items()}
    result["failed_s"] = {names[g]: round(failed_seconds(w.results, since=t_stopped), 3) for g, w in writers.items()}
    result["lost"] = lost_writes(writers, ips)
    first = next((r for r in writers[grp].results if r["ok"] and r["t0"] > t_stopped), None)
    result.update(
        exec_s=round(t_stopped - result["t_sent"], 3),
        vip_moved_s=round(result["t_moved"] - t_stopped, 3) if moved else None,
        first_write_s=round(first["t1"] - t_stopped, 3) if first else None,
        frozen_s=round(result["t_cont"] - t_stopped, 3),
        rejoin_s=round(result["t_rejoined"] - result["t_cont"], 3) if result["rejoined"] else None)
    return result, writers
