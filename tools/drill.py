"""Failover drills against the lab (or a Molecule scenario's nodes): write through the VIP on a steady
cadence, inject one fault, observe for a fixed period, report recovery, failed-write time, lost
acknowledged writes and writes accepted by a deposed master. Table + JSON + PNG timeline, N repeats.

    .venv/bin/python tools/drill.py kill-master --runs 5 --observe 25 --out docs/drills
    REDIS_HA_LAB_INVENTORY=inventories/drill .venv/bin/python tools/drill.py all --runs 5
    REDIS_HA_LAB_INVENTORY=inventories/drill .venv/bin/python tools/drill.py kill-master sentinel-failover --compare-recipe

Faults:
  kill-master        docker kill of the master container (restarted and rejoined after the run)
  kill-redis-server  SIGKILL of redis-server only on the master (systemd restarts it)
  switchover         ansible-playbook playbooks/switchover.yml (planned, zero-loss sequence)
  rolling-restart    ansible-playbook playbooks/rolling_restart.yml (replicas, switchover, old master)
  sentinel-failover  plain SENTINEL FAILOVER (the naive planned switchover, for comparison)
  stop-keepalived    systemctl stop keepalived on the master (started again after the run; by design the
                     VIP stays down until then, see the README)
  crash-keepalived   SIGKILL of keepalived on the master (systemd restarts it: keepalived_restart)
  stale-old-master   kill the master, wait for the failover, then start the old master again (the fault
                     instant is the start of the stale old master)
  partition          iptables inside the master container: drop all traffic to/from the two other nodes,
                     the control machine (the client) still reaches it (healed after the run)
  stop-sentinel      systemctl stop redis-sentinel on the master node (started again after the run)
  migrate-engine     ansible-playbook playbooks/migrate_engine.yml with REDIS_HA_ENGINE=valkey (Redis ->
                     Valkey, node by node; one-way: the lab runs Valkey afterwards and the drill follows it)

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
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lab  # noqa: E402
import redis  # noqa: E402

ROOT = lab.ROOT
FAULTS = ("kill-master", "kill-redis-server", "switchover", "rolling-restart", "migrate-engine", "sentinel-failover",
          "stop-keepalived",
          "crash-keepalived", "stale-old-master", "partition", "stop-sentinel")
DEFAULT_FAULTS = ("kill-master", "kill-redis-server", "switchover", "stale-old-master", "partition", "stop-sentinel",
                  "crash-keepalived")
CADENCE_S = 0.02          # one write attempt every 20 ms
WRITE_TIMEOUT_S = 0.2     # client socket / connect timeout (short, as an application would set it)
POLL_S = 0.05             # Sentinel / role poll period of the monitor
QUIET_S = 2.0             # an "error-free period" must last at least this long up to the end of the run
# How long to wait for the group to be whole again (healthy_s) and, in stale-old-master, for the failover
# before the old master is started again (failover_s): the recipe fails over in 30-90 s.
OURS = {"label": "ours", "prefix": "", "title": "", "healthy_s": 180.0, "failover_s": 60.0}
RECIPE_FAULTS = ("kill-master", "sentinel-failover", "stale-old-master", "switchover")
# (row, our fault, the recipe's fault) of the side-by-side table
RECIPE_PAIRS = (("kill master", "kill-master", "kill-master"),
                ("planned switchover", "switchover", "sentinel-failover"),
                ("plain SENTINEL FAILOVER", "sentinel-failover", "sentinel-failover"),
                ("old master restarted", "stale-old-master", "stale-old-master"))
T0 = time.monotonic()


def _sentinel_ip(host: str, timeout: float = 0.15):
    """Address of the master one Sentinel names (no port), fast timeout for the 50 ms monitor."""
    named = lab.sentinel_master(host, timeout=timeout)
    return named.rsplit(":", 1)[0] if named else None


def now() -> float:
    return time.monotonic()


class Writer(threading.Thread):
    """Sequenced writes through the VIP: SET drill:<run>:<seq> + INFO server (which node answered)."""

    def __init__(self, run_id: str):
        super().__init__(daemon=True)
        self.run_id, self.stop, self.results = run_id, threading.Event(), []

    def run(self):
        client, seq, nxt = None, 0, now()
        while not self.stop.is_set():
            seq += 1
            t0 = now()
            ok, err, run_id = False, None, None
            try:
                if client is None:
                    client = lab.vip_client(timeout=WRITE_TIMEOUT_S)
                pipe = client.pipeline(transaction=False)
                pipe.set("drill:%s:%d" % (self.run_id, seq), str(seq))
                pipe.info("server")
                res = pipe.execute(raise_on_error=False)
                if isinstance(res[0], Exception):
                    err = str(res[0])[:60]
                else:
                    ok = bool(res[0])
                if isinstance(res[1], dict):
                    run_id = res[1].get("run_id")
            except Exception as exc:  # noqa: BLE001 - every client failure is a failed write
                err = type(exc).__name__ + ": " + str(exc)[:50]
                if client is not None:
                    client.close()
                client = None
            self.results.append({"seq": seq, "t0": t0, "t1": now(), "ok": ok, "err": err, "run_id": run_id})
            nxt += CADENCE_S
            delay = nxt - now()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = now()
        if client is not None:
            client.close()


class Monitor(threading.Thread):
    """Polls every POLL_S: what each Sentinel names as master, each node's Redis role and run_id, and (every
    few polls, through nsenter into the containers' network namespaces) which node holds the VIP."""

    def __init__(self, ips: dict):
        super().__init__(daemon=True)
        self.ips, self.stop = dict(ips), threading.Event()
        self.sentinel, self.roles, self.vip = [], [], []
        self.run_ids: dict[str, str] = {}
        self.pids = {}

    def _pid(self, name):
        res = lab.docker("inspect", "-f", "{{.State.Pid}}", name, check=False, timeout=10)
        pid = res.stdout.strip() if res.returncode == 0 else ""
        return pid if pid and pid != "0" else None

    def vip_holders(self):
        held = []
        for name in self.ips:
            pid = self.pids.get(name)
            if not pid:
                continue
            try:
                res = subprocess.run(["nsenter", "-t", pid, "-n", "ip", "-o", "-4", "addr", "show"],
                                     capture_output=True, text=True, check=False, timeout=5)
            except (OSError, subprocess.SubprocessError):  # no nsenter / not root: no VIP row in the plot
                self.pids[name] = None
                continue
            if res.returncode != 0:
                self.pids[name] = None
            elif " %s/" % lab.vip() in res.stdout:
                held.append(name)
        return held

    def run(self):
        i = 0
        while not self.stop.is_set():
            t = now()
            named = {}
            for name, ip in self.ips.items():
                named[name] = _sentinel_ip(ip) if ip else None
            self.sentinel.append((t, named))
            if i % 4 == 0:
                roles = {}
                for name, ip in self.ips.items():
                    roles[name], run_id = lab_role_runid(ip)
                    if run_id:
                        self.run_ids[run_id] = name
                self.roles.append((t, roles))
                if i % 20 == 0:
                    self.pids = {n: self._pid(n) for n in self.ips}
                self.vip.append((now(), self.vip_holders()))
            i += 1
            delay = t + POLL_S - now()
            if delay > 0:
                time.sleep(delay)




def lab_role_runid(host, timeout=0.15):
    if not host:
        return None, None
    cli = lab.redis_client(host, timeout=timeout)
    try:
        info = cli.info("server")
        role = cli.execute_command("ROLE")[0].decode()
        return role, info.get("run_id")
    except (redis.RedisError, OSError):
        return None, None
    finally:
        cli.close()


# ----------------------------------------------------------------------------------------------------
# state of the group
# ----------------------------------------------------------------------------------------------------

def majority_master(ips: dict):
    """(node, ip) most Sentinels name as master, or (None, None)."""
    named = [lab.sentinel_master(ip) for ip in ips.values() if ip]
    named = [n.rsplit(":", 1)[0] for n in named if n]
    if not named:
        return None, None
    best = max(set(named), key=named.count)
    if named.count(best) < 2:
        return None, None
    return next((n for n, ip in ips.items() if ip == best), None), best


def health(ips: dict) -> tuple[str | None, str]:
    """(the master's node name, "") when the group is whole: every node up, one master with two replicas in
    sync, all three Sentinels agree, the VIP on that master, a write through the VIP works; else (None, what
    is missing)."""
    if not all(ips.values()):
        return None, "node down: %s" % ", ".join(n for n, ip in ips.items() if not ip)
    master, mip = majority_master(ips)
    if not master or any(lab.sentinel_master(ip) != "%s:%d" % (mip, lab.redis_port()) for ip in ips.values()):
        return None, "Sentinels disagree"
    for name, ip in ips.items():
        try:
            info = lab.redis_client(ip).info("replication")
        except (redis.RedisError, OSError):
            return None, "%s does not answer" % name
        if name == master and (info.get("role") != "master" or info.get("connected_slaves") != 2):
            return None, "%s: role %s, %s replicas" % (name, info.get("role"), info.get("connected_slaves"))
        if name != master and (info.get("role") != "slave" or info.get("master_link_status") != "up"):
            return None, "%s: role %s, link %s" % (name, info.get("role"), info.get("master_link_status"))
    holders = lab.vip_holders()
    if holders != [master]:
        return None, "VIP on %s, master %s" % (holders or "no node", master)
    try:
        lab.vip_client(timeout=1).set("drill:health", "1")
    except (redis.RedisError, OSError) as exc:
        return None, "write through the VIP: %s" % str(exc)[:60]
    return master, ""


def healthy(ips: dict) -> str | None:
    """The master's node name when the group is whole (see health), else None."""
    return health(ips)[0]


def wait_healthy(timeout: float = 180.0) -> str:
    """Waits (bounded) until the group is whole; says what it waits for every 15 s."""
    start = now()
    end, said = start + timeout, start
    while now() < end:
        master, why = health(lab.node_ips())
        if master:
            return master
        if now() - said >= 15:
            said = now()
            progress("   waiting %.0f s for the group to be whole: %s" % (said - start, why))
        time.sleep(1.0)
    raise RuntimeError("the group did not become healthy within %d s: %s" % (timeout, lab.status()))


def progress(text: str):
    print("[%5.0f s] %s" % (now() - T0, text), flush=True)


# ----------------------------------------------------------------------------------------------------
# faults and their repair
# ----------------------------------------------------------------------------------------------------

def _exec(node, *cmd, timeout=30):
    return lab.docker("exec", node, *cmd, check=False, timeout=timeout)


def ansible_playbook(name: str, extra=(), timeout=1200) -> subprocess.CompletedProcess:
    """ansible-playbook against the lab inventory; name is in playbooks/ or a path relative to the repo."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"), ANSIBLE_FORCE_COLOR="0")
    bindir = pathlib.Path(sys.executable).parent
    inv = lab.INVENTORY / "hosts.yml"
    playbook = ROOT / name if "/" in name else ROOT / "playbooks" / name
    return subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inv), str(playbook), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False, timeout=timeout)


def run_playbook(name="switchover.yml", extra=(), timeout=600):
    """Runs a playbook (ansible_playbook); prints the end of its output when it fails; returns its exit code."""
    res = ansible_playbook(name, extra, timeout)
    if res.returncode != 0:
        print(res.stdout[-3000:], res.stderr[-2000:], file=sys.stderr)
    return res.returncode


def inject(fault: str, master: str, ips: dict, note: dict, failover_s: float = 60.0):
    """Inject the fault; returns the monotonic time of the fault instant."""
    if fault == "kill-master":
        t = now()
        lab.docker("kill", master)
        return t
    if fault in ("kill-redis-server", "crash-keepalived"):
        t = now()
        _exec(master, "systemctl", "kill", "-s", "KILL", lab.units()["server"] if fault == "kill-redis-server" else "keepalived")
        return t
    if fault == "stop-keepalived":
        t = now()
        _exec(master, "systemctl", "stop", "keepalived")
        return t
    if fault == "stop-sentinel":
        t = now()
        _exec(master, "systemctl", "stop", lab.units()["sentinel"])
        return t
    if fault == "sentinel-failover":
        gv = lab.group_vars()
        cli = redis.Redis(host=ips[master], port=lab.sentinel_port(), password=gv["sentinel_password"], socket_timeout=2)
        t = now()
        cli.execute_command("SENTINEL", "FAILOVER", lab.master_name())
        cli.close()
        return t
    if fault == "migrate-engine":
        os.environ["REDIS_HA_ENGINE"] = "valkey"  # the lab inventory's redis_ha_engine follows it, and lab.units()
    if fault in ("switchover", "rolling-restart", "migrate-engine"):
        t = now()
        note["playbook_rc"] = run_playbook(fault.replace("-", "_") + ".yml")
        note["playbook_s"] = round(now() - t, 2)
        return t
    if fault == "partition":
        peers = [ip for n, ip in ips.items() if n != master]
        t = now()
        for ip in peers:
            _exec(master, "iptables", "-I", "INPUT", "-s", ip, "-j", "DROP")
            _exec(master, "iptables", "-I", "OUTPUT", "-d", ip, "-j", "DROP")
        return t
    if fault == "stale-old-master":
        lab.docker("kill", master)
        # wait (bounded) until a write through the VIP succeeds again, then let the stale old master boot
        t_kill = now()
        end = t_kill + failover_s
        note["failover_before_restart"] = False
        while now() < end:
            try:
                lab.vip_client(timeout=0.2).set("drill:probe", "1")
                note["failover_before_restart"] = True
                break
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        note["kill_to_failover_s"] = round(now() - t_kill, 2)
        t = now()
        lab.docker("start", master)
        return t
    raise ValueError(fault)


def repair(fault: str, master: str, ips: dict):
    if fault == "kill-master":
        lab.docker("start", master, check=False)
    elif fault in ("stop-keepalived", "crash-keepalived"):
        _exec(master, "systemctl", "start", "keepalived")  # a no-op when systemd restarted it
    elif fault == "stop-sentinel":
        _exec(master, "systemctl", "start", lab.units()["sentinel"])
    elif fault == "partition":
        for ip in [ip for n, ip in ips.items() if n != master]:
            _exec(master, "iptables", "-D", "INPUT", "-s", ip, "-j", "DROP")
            _exec(master, "iptables", "-D", "OUTPUT", "-d", ip, "-j", "DROP")


# ----------------------------------------------------------------------------------------------------
# one run
# ----------------------------------------------------------------------------------------------------

def analyse(writes, t_fault, t_end, sentinel_polls, run_ids, ips, final_master_ip, final_client):
    after = [w for w in writes if w["t0"] >= t_fault]
    # failed time: each run of consecutive failures lasts from its first attempt to the next success
    failed_s, start = 0.0, None
    for w in writes:
        if not w["ok"] and start is None:
            start = w["t0"]
        elif w["ok"] and start is not None:
            failed_s += w["t0"] - max(start, t_fault) if w["t0"] > t_fault else 0.0
            start = None
    if start is not None:
        failed_s += t_end - max(start, t_fault)
    failures_after = [w for w in after if not w["ok"]]
    if not failures_after:
        recovery = 0.0
    else:
        last_fail = failures_after[-1]
        nxt = next((w for w in after if w["seq"] > last_fail["seq"] and w["ok"]), None)
        recovery = (nxt["t0"] - t_fault) if nxt and t_end - nxt["t0"] >= QUIET_S else None
    # deposed: when the Sentinels' majority moves from A to B, A counts as deposed from the first poll at
    # which any Sentinel named B (while A was still the majority's master); a write acknowledged by A after
    # that instant was accepted by a deposed master. A node that becomes the majority's master again is
    # no longer deposed.
    def node_of(ip):
        return next((n for n, a in ips.items() if a == ip), None)
    deposed_at: dict[str, float] = {}
    cur, cur_since = None, None
    for t, named in sentinel_polls:
        vals = [v for v in named.values() if v]
        maj = next((v for v in set(vals) if vals.count(v) >= 2), None)
        if maj is None or maj == cur:
            continue
        if cur is not None:
            first = min((t2 for t2, n2 in sentinel_polls if cur_since <= t2 <= t and maj in n2.values()), default=t)
            node = node_of(cur)
            if node:
                deposed_at[node] = first
        cur, cur_since = maj, t
        deposed_at.pop(node_of(maj), None)
    served = {}
    deposed_acks = 0
    for w in writes:
        if not w["ok"]:
            continue
        node = run_ids.get(w["run_id"], "?")
        served[node] = served.get(node, 0) + 1
        w["node"] = node
        if node in deposed_at and w["t1"] > deposed_at[node]:
            deposed_acks += 1
    acked = [w["seq"] for w in writes if w["ok"]]
    lost = None
    if final_client is not None:
        lost = 0
        for i in range(0, len(acked), 500):
            chunk = acked[i:i + 500]
            vals = final_client.mget(["drill:%s:%d" % (final_client.drill_run, s) for s in chunk])
            lost += sum(1 for v in vals if v is None)
    first_fail = next((w for w in after if not w["ok"]), None)
    first_ok = next((w for w in after if first_fail and w["ok"] and w["seq"] > first_fail["seq"]), None)
    errors: dict[str, int] = {}
    for w in failures_after:
        key = (w["err"] or "?").split(":")[0][:40]
        errors[key] = errors.get(key, 0) + 1
    return {
        "recovery_s": None if recovery is None else round(recovery, 3),
        "first_ok_after_failure_s": round(first_ok["t0"] - t_fault, 3) if first_ok else None,
        "errors": errors,
        "failed_s": round(failed_s, 3),
        "lost_acked": lost,
        "deposed_acks": deposed_acks,
        "writes": len(writes),
        "acked": len(acked),
        "served_by": served,
        "deposed_at_s": {n: round(t - t_fault, 3) for n, t in deposed_at.items()},
    }


def one_run(fault: str, observe_s: float, out: pathlib.Path | None, index: int, before_s: float = 2.0,
            setup: dict = OURS) -> dict:
    master = wait_healthy(setup["healthy_s"])
    ips = lab.node_ips()
    run_id = uuid.uuid4().hex[:8]
    writer, monitor = Writer(run_id), Monitor(ips)
    monitor.start()
    writer.start()
    time.sleep(before_s)
    note = {}
    try:
        t_fault = inject(fault, master, ips, note, setup["failover_s"])
        t_start = min(w["t0"] for w in writer.results) if writer.results else t_fault
        # a playbook fault returns when the playbook ends: keep observing long enough after that too
        end = max(t_fault + observe_s, now() + QUIET_S + 2.0)
        while now() < end:
            time.sleep(0.1)
    finally:
        writer.stop.set()
        writer.join(5)
        monitor.stop.set()
        monitor.join(5)
    t_end = now()
    # Sentinel's final master (the two or three Sentinels that answer), read with the admin user
    fmaster, fip = majority_master(lab.node_ips())
    final_client = None
    if fip:
        final_client = lab.redis_client(fip, timeout=5)
        final_client.drill_run = run_id
    # roles polled late may have missed run_ids of a restarted node: ask every node once more
    for name, ip in lab.node_ips().items():
        _r, rid = lab_role_runid(ip, timeout=1)
        if rid:
            monitor.run_ids[rid] = name
    result = analyse(writer.results, t_fault, t_end, monitor.sentinel, monitor.run_ids, ips, fip, final_client)
    if final_client is not None:
        final_client.close()
    result.update({"fault": fault, "run": index, "old_master": master, "final_master": fmaster,
                   "observe_s": observe_s, "cadence_s": CADENCE_S, "timeout_s": WRITE_TIMEOUT_S, **note})
    if out:
        plot(fault, index, writer.results, monitor, ips, t_fault, t_start, result, out, setup)
    repair(fault, master, ips)
    # cleanup of the run's keys once the group is whole again (keeps the lab small)
    try:
        m = wait_healthy(setup["healthy_s"])
        cli = lab.redis_client(lab.node_ips()[m], timeout=5)
        for i in range(0, len(writer.results) + 1, 500):
            cli.delete(*["drill:%s:%d" % (run_id, s) for s in range(i + 1, i + 501)])
        cli.close()
    except (RuntimeError, redis.RedisError, OSError) as exc:
        result["cleanup_error"] = str(exc)[:200]
    return result


def plot(fault, index, writes, monitor, ips, t_fault, t_start, result, out: pathlib.Path, setup: dict = OURS):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ips)
    ypos = {n: i for i, n in enumerate(names)}
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(10, 6), gridspec_kw={"height_ratios": [1, 1.2, 1.2, 1.2]})
    ok = [w["t0"] - t_fault for w in writes if w["ok"]]
    bad = [w["t0"] - t_fault for w in writes if not w["ok"]]
    axes[0].vlines(ok, 0.5, 1.5, colors="tab:green", linewidth=0.6, label="ok")
    axes[0].vlines(bad, -0.5, 0.5, colors="tab:red", linewidth=0.6, label="failed")
    axes[0].set_yticks([0, 1], ["failed", "ok"])
    axes[0].set_title(setup["title"] + "%s run %d: recovery %s s, failed %.2f s, lost %s, deposed acks %d"
                      % (fault, index, result["recovery_s"], result["failed_s"], result["lost_acked"],
                         result["deposed_acks"]), fontsize=9)
    served = [(w["t0"] - t_fault, ypos.get(w.get("node"), -1)) for w in writes if w["ok"]]
    if served:
        axes[1].scatter(*zip(*served), s=2, c="tab:blue")
    axes[1].set_ylabel("write\nserved by", fontsize=8)
    vip = [(t - t_fault, ypos[n]) for t, held in monitor.vip for n in held]
    if vip:
        axes[2].scatter(*zip(*vip), s=4, c="tab:orange")
    axes[2].set_ylabel("VIP on", fontsize=8)
    for j, n in enumerate(names):
        pts = [(t - t_fault, ypos[m]) for t, named in monitor.sentinel
               for m in [next((k for k, ip in ips.items() if ip == named.get(n)), None)] if m]
        if pts:
            axes[3].scatter([p[0] for p in pts], [p[1] + (j - 1) * 0.15 for p in pts], s=2, label="Sentinel on %s" % n)
    axes[3].set_ylabel("Sentinel's\nmaster", fontsize=8)
    axes[3].legend(fontsize=6, loc="upper right")
    for ax in axes[1:]:
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_ylim(-0.6, len(names) - 0.4)
    for ax in axes:
        ax.axvline(0, color="black", linestyle="--", linewidth=0.8)
    axes[3].set_xlabel("seconds from the fault")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / ("%s%s-%d.png" % (setup["prefix"], fault, index)), dpi=80)
    plt.close(fig)


def summarize(results: list[dict]) -> list[dict]:
    rows = []
    for fault in dict.fromkeys(r["fault"] for r in results):
        rs = [r for r in results if r["fault"] == fault]
        row = {"fault": fault, "runs": len(rs)}
        for key in ("recovery_s", "failed_s", "lost_acked", "deposed_acks"):
            vals = [r[key] for r in rs if r[key] is not None]
            row[key + "_median"] = round(statistics.median(vals), 3) if vals else None
            row[key + "_max"] = max(vals) if vals else None
            row[key + "_none"] = len(rs) - len(vals)
        rows.append(row)
    return rows


def mm(row: dict, key: str) -> str:
    """"median / max" of one summary field (+ how many runs had no value: not recovered)."""
    s = "%s / %s" % (row[key + "_median"], row[key + "_max"])
    return s + (" (%d not recovered)" % row[key + "_none"] if row[key + "_none"] else "")


def format_table(rows: list[dict]) -> str:
    head = ["fault", "runs", "recovery s (med/max)", "failed writes s (med/max)", "acked lost (med/max)",
            "deposed acks (med/max)"]

    lines = [[r["fault"], str(r["runs"]), mm(r, "recovery_s"), mm(r, "failed_s"), mm(r, "lost_acked"),
              mm(r, "deposed_acks")] for r in rows]
    return text_table(head, lines)


def text_table(head: list[str], lines: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        return "\n".join("| %s |" % " | ".join(cells) for cells in [head, ["---"] * len(head), *lines])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    text = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(text)


def drill(faults, runs=1, observe_s=25.0, out=None, setup: dict = OURS, partial=None) -> dict:
    """Python API: run each fault `runs` times; returns {"runs": [...], "summary": [...]}. `partial(results)`
    is called after every run (default: write drill-partial.json into `out`)."""
    results = []
    for fault in faults:
        for i in range(1, runs + 1):
            progress("== %s%s run %d/%d (observed %.0f s)" % (setup["title"], fault, i, runs, observe_s))
            r = one_run(fault, observe_s, out, i, setup=setup)
            progress("   recovery %s s (first ok after a failure %s s), failed %.3f s, lost %s, deposed acks %s, served by %s" % (
                r["recovery_s"], r["first_ok_after_failure_s"], r["failed_s"], r["lost_acked"], r["deposed_acks"], r["served_by"]))
            results.append(r)
            if partial:
                partial(results)
            elif out:
                out.mkdir(parents=True, exist_ok=True)
                (out / "drill-partial.json").write_text(json.dumps(results, indent=1, default=str))
    return {"runs": results, "summary": summarize(results)}


# ----------------------------------------------------------------------------------------------------
# the same faults against the common recipe (tools/recipe)
# ----------------------------------------------------------------------------------------------------

def recipe_plan(faults) -> tuple[list[str], list[str]]:
    """(our faults, the recipe's faults): the planned switchover pairs our switchover playbook with the
    recipe's plain SENTINEL FAILOVER, so either one brings the other."""
    ours = list(faults) + (["switchover"] if "sentinel-failover" in faults and "switchover" not in faults else [])
    recipe = [f for f in faults if f != "switchover"]
    if "switchover" in faults and "sentinel-failover" not in faults:
        recipe.append("sentinel-failover")
    return ours, recipe


def compare_table(ours: list[dict], recipe: list[dict], markdown: bool = False) -> str:
    """One row per configuration and drill (RECIPE_PAIRS), our row above the recipe's."""
    head = ["drill", "configuration", "fault", "runs", "recovery s", "failed writes s", "acked writes lost",
            "deposed acks"]
    lines = []
    for title, our_fault, recipe_fault in RECIPE_PAIRS:
        sides = [("ours", next((r for r in ours if r["fault"] == our_fault), None)),
                 ("common recipe", next((r for r in recipe if r["fault"] == recipe_fault), None))]
        if not all(row for _label, row in sides):
            continue
        for i, (label, row) in enumerate(sides):
            lines.append([title if i == 0 else "", label, row["fault"], str(row["runs"]), mm(row, "recovery_s"),
                          mm(row, "failed_s"), mm(row, "lost_acked"), mm(row, "deposed_acks")])
    return text_table(head, lines, markdown)


def compare_recipe(faults, runs=1, observe_s=25.0, recipe_observe_s=150.0, out=None, tag="recipe-compare") -> dict:
    """Runs the faults `runs` times with our configuration, converts the nodes to the common recipe
    (tools/recipe/apply.yml), runs them `runs` times against it, and restores our configuration
    (tools/recipe/restore.yml, also after an error). Returns {"ours": ..., "recipe": ..., ...}."""
    our_faults, recipe_faults = recipe_plan(faults)
    ours_setup = dict(OURS, prefix=tag + "-ours-", title="ours: ")
    recipe_setup = {"label": "recipe", "prefix": tag + "-recipe-", "title": "common recipe: ",
                    "healthy_s": 300.0, "failover_s": recipe_observe_s}
    report = {"ours": {"faults": our_faults, "observe_s": observe_s},
              "recipe": {"faults": recipe_faults, "observe_s": recipe_observe_s,
                         "configuration": "tools/recipe/apply.yml (recipe_vars.yml, templates/)"}}

    def partial(label):
        def write(results):
            report[label]["runs"] = results
            if out:
                out.mkdir(parents=True, exist_ok=True)
                (out / ("%s-partial.json" % tag)).write_text(json.dumps(report, indent=1, default=str))
        return write

    progress("== our configuration: %s, %d run(s) each" % (", ".join(our_faults), runs))
    report["ours"].update(drill(our_faults, runs, observe_s, out, ours_setup, partial("ours")))
    progress("== converting the nodes to the common recipe (tools/recipe/apply.yml)")
    t = now()
    if run_playbook("tools/recipe/apply.yml") != 0:
        restore_ours(report)
        raise RuntimeError("tools/recipe/apply.yml failed")
    report["apply_s"] = round(now() - t, 1)
    try:
        progress("== common recipe: %s, %d run(s) each" % (", ".join(recipe_faults), runs))
        report["recipe"].update(drill(recipe_faults, runs, recipe_observe_s, out, recipe_setup, partial("recipe")))
    finally:
        restore_ours(report)
    return report


def restore_ours(report: dict):
    progress("== restoring our configuration (tools/recipe/restore.yml)")
    t = now()
    rc = run_playbook("tools/recipe/restore.yml", timeout=600)
    report["restore_rc"], report["restore_s"] = rc, round(now() - t, 1)
    if rc != 0:
        progress("!! tools/recipe/restore.yml failed (rc %d): the nodes may still run the recipe" % rc)
        return
    master = wait_healthy(OURS["healthy_s"])
    progress("   restored, master %s" % master)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("faults", nargs="+", help="fault names (see below) or 'all'")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--observe", type=float, default=25.0, help="seconds observed after the fault")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder for the JSON and PNG files")
    parser.add_argument("--compare-recipe", action="store_true",
                        help="also run the faults against the common recipe (tools/recipe), then restore")
    parser.add_argument("--recipe-observe", type=float, default=150.0,
                        help="seconds observed after the fault with the recipe (--compare-recipe)")
    parser.add_argument("--tag", default="recipe-compare",
                        help="name of the JSON / table and prefix of the PNGs (--compare-recipe)")
    args = parser.parse_args(argv)
    faults = list(DEFAULT_FAULTS) if args.faults == ["all"] else args.faults
    for f in faults:
        if f not in (RECIPE_FAULTS if args.compare_recipe else FAULTS):
            parser.error("unknown fault %s%s" % (f, " for --compare-recipe" if args.compare_recipe else ""))
    if args.compare_recipe:
        return main_compare(args, faults)
    report = drill(faults, args.runs, args.observe, args.out)
    stamp(report)
    print()
    print(format_table(report["summary"]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / ("drill-%s.json" % "-".join(faults) if len(faults) < 3 else "drill-all.json")
        path.write_text(json.dumps(report, indent=1, default=str))
        print("JSON: %s" % path)
    return 0


def stamp(report: dict):
    report["inventory"] = str(lab.INVENTORY)
    report["date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


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
