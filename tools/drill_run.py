"""The drills' runs (tools/drill.py): one fault under the writer and the monitor (one_run), a series of them
(drill, the Python API of the suite's tests), and a soak of random faults in a row under one writer."""

from __future__ import annotations

import json
import pathlib
import random
import time
import uuid

import fence_log
import lab
import redis
import setup_delay
from drill_faults import inject, repair
from drill_group import majority_master, now, progress, wait_healthy
from drill_load import (BASE_KEYS, CADENCE_S, WRITE_TIMEOUT_S, Monitor, Writer, base_keys_missing, delete_writes,
                        missing_writes, stop_threads, write_base_keys)
from drill_measure import (PARTITION_WINDOW_S, QUIET_S, analyse, charge_lost, failed_seconds, failover_chain,
                           per_fault, soak_fences)
from drill_report import plot, soak_plot, summarize

SETUP_DELAY_US = None     # --setup-delay-us: microseconds each node holds incoming SYN/RST packets (None: off)
# How long to wait for the group to be whole again (healthy_s) and, in stale-old-master, for the failover
# before the old master is started again (failover_s): the recipe fails over in 30-90 s.
OURS = {"label": "ours", "prefix": "", "title": "", "healthy_s": 180.0, "failover_s": 60.0}
SOAK_FAULTS = ("kill-master", "kill-replica", "crash-restart", "freeze-redis", "restart-empty", "partition",
               "stop-sentinel", "crash-keepalived", "switchover")


def _observe(fault, observe_s, writer, monitor, direct, master, ips, note, setup, before_s):
    """Starts the threads, injects the fault and observes; returns (fault instant, first write, end)."""
    monitor.start()
    writer.start()
    if direct:
        direct.start()
    time.sleep(before_s)
    try:
        t_fault = inject(fault, master, ips, note, setup["failover_s"])
        t_start = min(w["t0"] for w in writer.results) if writer.results else t_fault
        # a playbook fault returns when the playbook ends: keep observing long enough after that too
        end = max(t_fault + observe_s, now() + QUIET_S + 2.0)
        while now() < end:
            time.sleep(0.1)
    finally:
        stop_threads(writer, monitor, *([direct] if direct else []))
    return t_fault, t_start, now()


def _after_fault(note, fences, direct, t_fault):
    """The watchers' write pauses and how long the direct client (partition) was acknowledged, into note."""
    fences.collect([n for n, ip in lab.node_ips().items() if ip])
    epoch_fault = t_fault + (time.time() - now())  # [node, s after the fault] of every write pause of a watcher
    note["fence_pauses"] = [[node, round(epoch - epoch_fault, 2)] for node, epoch in fences.pauses()]
    if direct:
        acked = [w for w in direct.results if w["ok"] and w["t0"] >= t_fault]
        note["direct_last_ack_after_fault_s"] = round(max(w["t1"] for w in acked) - t_fault, 3) if acked else 0.0
        note["direct_acked_after_fault"] = len(acked)


def _lost_on_final_master(writer):
    """(Sentinel's final master, acknowledged writes it does not hold: None when it does not answer)."""
    fmaster, fip = majority_master(lab.node_ips())  # a majority of the Sentinels that answer; the admin user
    if not fip:
        return fmaster, None
    client = lab.redis_client(fip, timeout=5)
    try:
        return fmaster, len(missing_writes(client, writer.run_id, [w for w in writer.results if w["ok"]]))
    except (redis.RedisError, OSError):
        return fmaster, None  # the run counts as not verified, the series goes on
    finally:
        client.close()


def _clean_up(result, run_id, writers, setup):
    """Every node must still hold the keys written before the fault; then the run's keys are removed once the
    group is whole again (keeps the lab small)."""
    try:
        m = wait_healthy(setup["healthy_s"])
        result["base_keys_missing"] = base_keys_missing(run_id, delete=True)
        result["replica_keys_lost"] = max((v for v in result["base_keys_missing"].values() if v is not None),
                                          default=None)
        cli = lab.redis_client(lab.node_ips()[m], timeout=5)
        for writer in writers:
            delete_writes(cli, writer)
        cli.close()
    except (RuntimeError, redis.RedisError, OSError) as exc:
        result["cleanup_error"] = str(exc)[:200]


def one_run(fault: str, observe_s: float, out: pathlib.Path | None, index: int, before_s: float = 2.0,
            setup: dict = OURS, wait_replicas: int = 0) -> dict:
    master = wait_healthy(setup["healthy_s"])
    ips = lab.node_ips()
    note = {}
    if SETUP_DELAY_US is not None:
        # before every run: a node restarted by the previous run has a new network namespace
        running = [n for n, ip in ips.items() if ip]
        note["setup_delay_us"] = SETUP_DELAY_US
        note["refused_connect_us"] = setup_delay.install(running, SETUP_DELAY_US, ips[running[1]])
    run_id = uuid.uuid4().hex[:8]
    fences = fence_log.FenceLog(time.time() - 1)
    base_synced = write_base_keys(ips[master], run_id)
    writer, monitor = Writer(run_id, wait_replicas), Monitor(ips)
    # partition: a second client writes straight to the master's own address, as a client that bypasses
    # the VIP would; how long the isolated master keeps acknowledging it is min-replicas-max-lag's window
    direct = Writer(run_id + "d", host=ips[master]) if fault == "partition" else None
    t_fault, t_start, t_end = _observe(fault, observe_s, writer, monitor, direct, master, ips, note, setup, before_s)
    _after_fault(note, fences, direct, t_fault)
    fmaster, lost = _lost_on_final_master(writer)
    monitor.learn_run_ids()
    result = analyse(writer.results, t_fault, t_end, monitor.sentinel, monitor.run_ids, ips, lost)
    result.update({"fault": fault, "run": index, "old_master": master, "final_master": fmaster,
                   "observe_s": observe_s, "cadence_s": CADENCE_S, "timeout_s": WRITE_TIMEOUT_S,
                   "wait_replicas": wait_replicas, "base_keys": BASE_KEYS, "base_keys_synced_to": base_synced, **note})
    if fault in ("kill-master", "power-off"):
        result["failover_chain_s"], result["failover_aborts"] = failover_chain(master, t_fault)
    if out:
        plot(fault, index, writer.results, monitor, ips, t_fault, result, out, setup)
    result.update(repair(fault, master, ips, note))
    _clean_up(result, run_id, [writer] + ([direct] if direct else []), setup)
    return result


def drill(faults, runs=1, observe_s=25.0, out=None, setup: dict = OURS, partial=None, wait_replicas: int = 0) -> dict:
    """Python API: run each fault `runs` times; returns {"runs": [...], "summary": [...]}. `partial(results)`
    is called after every run (default: write drill-partial.json into `out`)."""
    results = []
    for fault in faults:
        for i in range(1, runs + 1):
            progress("== %s%s run %d/%d (observed %.0f s)" % (setup["title"], fault, i, runs, observe_s))
            r = one_run(fault, observe_s, out, i, setup=setup, wait_replicas=wait_replicas)
            progress("   recovery %s s (first ok after a failure %s s), failed %.3f s, lost %s, deposed acks %s, "
                     "served by %s, replica keys lost %s, rejoin %s s, write pauses %s" % (
                         r["recovery_s"], r["first_ok_after_failure_s"], r["failed_s"], r["lost_acked"],
                         r["deposed_acks"], r["served_by"], r.get("replica_keys_lost"), r.get("rejoin_s"),
                         r.get("fence_pauses")))
            results.append(r)
            if partial:
                partial(results)
            elif out:
                out.mkdir(parents=True, exist_ok=True)
                (out / "drill-partial.json").write_text(json.dumps(results, indent=1, default=str))
    return {"runs": results, "summary": summarize(results)}


def _soak_fault(i, count, fault, hold_s, fences) -> tuple[dict, str | None]:
    """One fault of a soak, held hold_s, repaired: (its event, None), or (the event, why) when the group does not
    become whole again."""
    master = wait_healthy()
    ips = lab.node_ips()
    note: dict = {}
    progress("== soak fault %d/%d: %s (master %s)" % (i, count, fault, master))
    fences.collect(ips)  # before a kill makes a node forget its journal
    note["epoch"] = time.time()
    t_fault = inject(fault, master, ips, note)
    while now() < t_fault + hold_s:
        time.sleep(0.1)
    rep = repair(fault, master, ips, note)
    try:
        healthy_master = wait_healthy()
    except RuntimeError as exc:
        return {"n": i, "fault": fault, "old_master": master, "t": t_fault, "error": str(exc)[:300]}, str(exc)
    t_ok = now()
    holders = lab.vip_holders()
    named, _ip = majority_master(lab.node_ips())
    ev = {"n": i, "fault": fault, "old_master": master, "new_master": healthy_master, "t": t_fault,
          "whole_after_s": round(t_ok - t_fault, 2), "vip_holders": holders, "majority_master": named,
          "vip_ok": holders == [named], **note, **rep}
    progress("   whole again after %.1f s, master %s, VIP on %s%s" % (
        ev["whole_after_s"], named, holders, "" if ev["vip_ok"] else "  !! VIP NOT ON THE MAJORITY'S MASTER"))
    return ev, None


def soak(count: int, out: pathlib.Path | None = None, hold_s: float = 8.0, seed: int | None = None,
         faults=SOAK_FAULTS, wait_replicas: int = 0) -> dict:
    """`count` faults drawn at random from `faults`, one after the other, with one writer through the VIP
    running the whole time. Each fault is held `hold_s` seconds, repaired, and the group must be whole again
    (wait_healthy: VIP on the master all Sentinels name, every replica in sync, a write works) before the next;
    then the VIP holders are checked once more. At the end every acknowledged write is looked up on the final
    master; a lost one is charged to the fault during which it was acknowledged."""
    rng = random.Random(seed)
    wait_healthy()
    ips = lab.node_ips()
    writer, monitor = Writer(uuid.uuid4().hex[:8], wait_replicas), Monitor(ips)
    monitor.start()
    writer.start()
    t_start = now()
    fences = fence_log.FenceLog(time.time() - 1)
    events, aborted = [], None
    try:
        time.sleep(2.0)
        for i in range(1, count + 1):
            fault = rng.choice(faults)
            event, error = _soak_fault(i, count, fault, hold_s, fences)
            events.append(event)
            if error:
                aborted = "fault %d (%s): %s" % (i, fault, error)
                break
    finally:
        stop_threads(writer, monitor)
    t_end = now()
    fences.collect(lab.node_ips())
    report = soak_analyse(writer, events, monitor, t_start, t_end)
    report["fence"] = soak_fences(fences.pauses(), events, hold_s)
    report.update({"faults_requested": count, "hold_s": hold_s, "seed": seed, "aborted": aborted,
                   "partition_window_s": PARTITION_WINDOW_S, "wait_replicas": wait_replicas})
    if out:
        soak_plot(writer.results, events, monitor, ips, t_start, report, out)
    return report


def soak_analyse(writer, events, monitor, t_start, t_end) -> dict:
    """The soak's figures: lost writes looked up on the final master (and charged to their fault), failed time,
    polls with two VIP holders, per-fault tallies."""
    writes = writer.results
    monitor.learn_run_ids()
    for w in writes:
        w["node"] = monitor.run_ids.get(w["run_id"], "?") if w["ok"] else None
    _m, fip = majority_master(lab.node_ips())
    acked = [w for w in writes if w["ok"]]
    lost_writes = []
    if fip:
        cli = lab.redis_client(fip, timeout=10)
        lost_writes = missing_writes(cli, writer.run_id, acked)
        delete_writes(cli, writer)
        cli.close()
    outside = charge_lost(lost_writes, events)
    double = [(round(t - t_start, 2), held) for t, held in monitor.vip if len(held) > 1]
    return {"run_id": writer.run_id, "duration_s": round(t_end - t_start, 1), "faults": len(events),
            "writes": len(writes), "acked": len(acked), "failed_writes_s": round(failed_seconds(writes), 2),
            "lost_acked": len(lost_writes), "lost_outside_partition_window": outside,
            "vip_ok_after_every_fault": all(e.get("vip_ok") for e in events),
            "double_vip_polls": len(double), "double_vip_samples": double[:20], "vip_polls": len(monitor.vip),
            "per_fault": per_fault(events),
            "events": [{k: (round(v - t_start, 2) if k == "t" else v) for k, v in e.items()} for e in events]}
