"""The drills' measurements (tools/drill.py): failed-write time and recovery of one run, writes acknowledged by a
deposed master, a restarted node's rejoin, Sentinel's failover chain from its logs, and the soak's tallies."""

from __future__ import annotations

import datetime
import statistics
import time

import lab
import redis
from drill_group import majority, node_exec, now

QUIET_S = 2.0             # an "error-free period" must last at least this long up to the end of the run
PARTITION_WINDOW_S = 1.0  # documented: writes a partitioned master acknowledges this soon after the cut may be lost


def wait_in_sync(node: str, since: float, timeout: float = 120.0) -> dict:
    """Waits (bounded) until `node` is a replica in sync; seconds from `since` and from its redis-server's
    start (systemd's ExecMainStartTimestampMonotonic: the same clock as time.monotonic on this host)."""
    end = since + timeout
    while now() < end:
        ip = lab.node_ip(node)
        if ip:
            try:
                info = lab.redis_client(ip, timeout=0.5).info("replication")
            except (redis.RedisError, OSError):
                info = {}
            if (info.get("role") == "slave" and info.get("master_link_status") == "up"
                    and not info.get("master_sync_in_progress")):
                t = now()
                res = node_exec(node, "systemctl", "show", "-p", "ExecMainStartTimestampMonotonic", "--value",
                                lab.units()["server"], timeout=10)
                started = int(res.stdout.strip() or 0) / 1e6
                return {"rejoin_s": round(t - since, 2),
                        "rejoin_after_redis_start_s": round(t - started, 2) if started > since - 60 else None}
        time.sleep(0.1)
    return {"rejoin_s": None}


def failover_chain(master: str, t_fault: float) -> tuple[dict, int]:
    """Seconds from the fault to the first logged instance of each of lab.SENTINEL_EVENTS (over the
    Sentinels of the other nodes: their log files, millisecond timestamps) and to keepalived's MASTER state
    on any node (its journal), and how many failover attempts were aborted (`-failover-abort-*`, e.g.
    no-good-slave: each costs 2 x failover-timeout). The containers share this host's clock."""
    wall = t_fault + (time.time() - time.monotonic())
    log = "%s/%s.log" % (lab.units()["log_dir"], lab.units()["sentinel"])
    chain: dict[str, float] = {}
    aborts = 0
    for node in lab.nodes():
        if node == master:
            continue
        res = node_exec(node, "sh", "-c", "tail -n 400 %s; journalctl -u keepalived -o short-unix --no-pager "
                        "--since @%d" % (log, int(wall) - 1), timeout=10)
        for line in res.stdout.splitlines():
            key, when = _chain_event(line)
            if key is None or when < wall:
                continue
            if key.startswith("-failover-abort"):
                aborts += 1
            else:
                chain[key] = round(min(chain.get(key, 1e9), when - wall), 3)
    return dict(sorted(chain.items(), key=lambda kv: kv[1])), aborts


def _chain_event(line: str) -> tuple[str | None, float]:
    """(event, epoch seconds) of one Sentinel log or keepalived journal line, (None, 0) for other lines."""
    words = line.split()
    if "Entering MASTER STATE" in line and words:
        return "keepalived MASTER", float(words[0])
    if len(words) > 7 and (words[6] in lab.SENTINEL_EVENTS or words[6].startswith("-failover-abort")) \
            and (words[6] not in ("+sdown", "+odown") or words[7] == "master"):
        stamp = " ".join(words[1:5])
        return words[6], datetime.datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    return None, 0.0


def failed_seconds(writes, since: float = float("-inf"), until: float | None = None) -> float:
    """Seconds during which writes failed: each run of consecutive failures lasts from its first attempt (not
    before `since`) to the next success; a run still failing at the end counts up to `until` when given."""
    failed_s, start = 0.0, None
    for w in writes:
        if not w["ok"] and start is None:
            start = w["t0"]
        elif w["ok"] and start is not None:
            failed_s += w["t0"] - max(start, since) if w["t0"] > since else 0.0
            start = None
    if start is not None and until is not None:
        failed_s += until - max(start, since)
    return failed_s


def deposed_at(sentinel_polls, ips: dict) -> dict[str, float]:
    """{node: instant} from which each node was a deposed master: when the Sentinels' majority moves from A to B,
    A counts as deposed from the first poll at which any Sentinel named B (while A was still the majority's
    master). A node that becomes the majority's master again is no longer deposed."""
    def node_of(ip):
        return next((n for n, a in ips.items() if a == ip), None)
    deposed: dict[str, float] = {}
    cur, cur_since = None, None
    for t, named in sentinel_polls:
        vals = [v for v in named.values() if v]
        maj = next((v for v in set(vals) if vals.count(v) >= majority(len(named))), None)
        if maj is None or maj == cur:
            continue
        if cur is not None:
            first = min((t2 for t2, n2 in sentinel_polls if cur_since <= t2 <= t and maj in n2.values()), default=t)
            node = node_of(cur)
            if node:
                deposed[node] = first
        cur, cur_since = maj, t
        deposed.pop(node_of(maj), None)
    return deposed


def _recovery(after, t_fault, t_end):
    """Seconds from the fault to the first success after the last failure (None when no error-free period of
    QUIET_S reaches the end), 0 without a failure."""
    failures = [w for w in after if not w["ok"]]
    if not failures:
        return 0.0
    nxt = next((w for w in after if w["seq"] > failures[-1]["seq"] and w["ok"]), None)
    return (nxt["t0"] - t_fault) if nxt and t_end - nxt["t0"] >= QUIET_S else None


def analyse(writes, t_fault, t_end, sentinel_polls, run_ids, ips, lost):
    """The figures of one run from the writer's results and the monitor's polls; `lost`: acknowledged writes the
    final master does not hold (None: not verified)."""
    after = [w for w in writes if w["t0"] >= t_fault]
    deposed = deposed_at(sentinel_polls, ips)
    served, deposed_acks = {}, 0
    for w in writes:
        if not w["ok"]:
            continue
        node = run_ids.get(w["run_id"], "?")
        served[node] = served.get(node, 0) + 1
        w["node"] = node
        if node in deposed and w["t1"] > deposed[node]:
            deposed_acks += 1
    recovery = _recovery(after, t_fault, t_end)
    first_fail = next((w for w in after if not w["ok"]), None)
    first_ok = next((w for w in after if first_fail and w["ok"] and w["seq"] > first_fail["seq"]), None)
    errors: dict[str, int] = {}
    for w in after:
        if not w["ok"]:
            key = (w["err"] or "?").split(":")[0][:40]
            errors[key] = errors.get(key, 0) + 1
    return {
        "recovery_s": None if recovery is None else round(recovery, 3),
        "first_ok_after_failure_s": round(first_ok["t0"] - t_fault, 3) if first_ok else None,
        "errors": errors,
        "failed_s": round(failed_seconds(writes, t_fault, t_end), 3),
        "lost_acked": lost,
        "deposed_acks": deposed_acks,
        "writes": len(writes),
        "acked": sum(1 for w in writes if w["ok"]),
        "served_by": served,
        "deposed_at_s": {n: round(t - t_fault, 3) for n, t in deposed.items()},
    }


def soak_fences(pauses, events, hold_s) -> dict:
    """The watchers' write pauses of a soak: each is expected on the old master of a partition, within the fault's
    hold; any other is a false pause of a healthy master (issue 28: none allowed)."""
    expected, false = 0, []
    for node, epoch in pauses:
        ev = max((e for e in events if e.get("epoch", 0) <= epoch + 0.5), key=lambda e: e["epoch"], default=None)
        if ev and ev["fault"] == "partition" and node == ev["old_master"] and epoch - ev["epoch"] <= hold_s:
            expected += 1
        else:
            false.append({"node": node, "during_fault": ev and ev["n"], "fault": ev and ev["fault"],
                          "s_after_fault": ev and round(epoch - ev["epoch"], 2)})
    partitions = sum(1 for e in events if e["fault"] == "partition")
    return {"pauses": len(pauses), "on_partitioned_master": expected, "partitions": partitions, "false_pauses": false}


def charge_lost(lost_writes, events) -> int:
    """Charges each lost write to the fault during which it was acknowledged (events[...]["lost"], and
    "lost_in_window" for a partition's first PARTITION_WINDOW_S); returns how many fall outside that window."""
    starts = [e["t"] for e in events]
    for ev in events:
        ev["lost"], ev["lost_in_window"] = 0, 0
    outside = 0
    for w in lost_writes:
        idx = max((k for k, t in enumerate(starts) if t <= w["t1"]), default=None)
        if idx is None:
            outside += 1
            continue
        ev = events[idx]
        ev["lost"] += 1
        if ev["fault"] == "partition" and w["t1"] - ev["t"] <= PARTITION_WINDOW_S:
            ev["lost_in_window"] += 1
        else:
            outside += 1
        ev.setdefault("lost_ack_after_fault_s", []).append(round(w["t1"] - ev["t"], 3))
    return outside


def per_fault(events) -> dict:
    """{fault: count, lost, vip_ok, whole_after_s median / max} over a soak's events."""
    rows: dict = {}
    for ev in events:
        row = rows.setdefault(ev["fault"], {"count": 0, "lost": 0, "vip_ok": 0, "whole_after_s": []})
        row["count"] += 1
        row["lost"] += ev.get("lost", 0)
        row["vip_ok"] += 1 if ev.get("vip_ok") else 0
        if ev.get("whole_after_s") is not None:
            row["whole_after_s"].append(ev["whole_after_s"])
    for row in rows.values():
        vals = row.pop("whole_after_s")
        row["whole_after_s_median"] = round(statistics.median(vals), 2) if vals else None
        row["whole_after_s_max"] = max(vals) if vals else None
    return rows
