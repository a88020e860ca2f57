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
  sentinel-failover  plain SENTINEL FAILOVER (the naive planned switchover, for comparison)
  stop-keepalived    systemctl stop keepalived on the master (started again after the run; by design the
                     VIP stays down until then, see the README)
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
"""

from __future__ import annotations

import argparse
import datetime
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
import fence_log  # noqa: E402
import lab  # noqa: E402
import redis  # noqa: E402
import restart_races  # noqa: E402
import setup_delay  # noqa: E402

ROOT = lab.ROOT
FAULTS = ("kill-master", "power-off", "kill-redis-server", "switchover", "rolling-restart", "migrate-engine",
          "sentinel-failover", "stop-keepalived", "crash-keepalived", "stale-old-master", "partition", "stop-sentinel",
          "crash-restart", "restart-empty", "freeze-redis", "kill-replica", "rotate-certs", "handler-restarts",
          "restart-sentinels", "cpu-load")
DEFAULT_FAULTS = ("kill-master", "kill-redis-server", "switchover", "stale-old-master", "partition", "stop-sentinel",
                  "crash-keepalived")
CADENCE_S = 0.02          # one write attempt every 20 ms
WRITE_TIMEOUT_S = 0.2     # client socket / connect timeout (short, as an application would set it)
POLL_S = 0.05             # Sentinel / role poll period of the monitor
BASE_KEYS = 2000          # keys written before the fault; every node must hold all of them after the run
CPU_LOAD_S, CPU_LOOPS = 20, 4  # cpu-load: busy loops on the master for this long (the watcher's CPU is stressed)
SENTINEL_GAP_S = 2.0      # restart-sentinels: pause between two nodes' Sentinel restarts
FREEZE_S = 6.0            # freeze-redis: seconds between SIGSTOP and SIGCONT
SETUP_DELAY_US = None     # --setup-delay-us: microseconds each node holds incoming SYN/RST packets (None: off)
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


def first_write_through_vip(key: str, value: str, t0: float, bound_s: float, timeout: float = 0.2):
    """Write through the VIP, a new connection every 50 ms, until a write succeeds or bound_s after t0 (monotonic):
    (monotonic time of the first success or None, attempts, the last error)."""
    attempts, last_error = 0, None
    while now() - t0 < bound_s:
        attempts += 1
        client = lab.vip_client(timeout=timeout)
        try:
            client.set(key, value)
            return now(), attempts, last_error
        except Exception as exc:  # noqa: BLE001 - every failure mode of a client counts as "not yet"
            last_error = exc
            time.sleep(0.05)
        finally:
            client.close()
    return None, attempts, last_error


class Writer(threading.Thread):
    """Sequenced writes through the VIP: SET drill:<run>:<seq> + INFO server (which node answered)."""

    def __init__(self, run_id: str, wait_replicas: int = 0, wait_ms: int = 200, host: str | None = None,
                 password: str | None = None, timeout: float = WRITE_TIMEOUT_S):
        super().__init__(daemon=True)
        self.run_id, self.stop, self.results = run_id, threading.Event(), []
        self.password = password  # None: the inventory's application password
        self.timeout = timeout
        self.host = host  # None: through the VIP; else straight to that node (a client that bypasses the VIP)
        # wait_replicas > 0: each SET is followed by WAIT <n> <ms>; a write counts as acknowledged only when
        # WAIT reports at least n replicas (what a client that needs zero loss does)
        self.wait_replicas, self.wait_ms = wait_replicas, wait_ms

    def run(self):
        client, seq, nxt = None, 0, now()
        while not self.stop.is_set():
            seq += 1
            t0 = now()
            ok, err, run_id = False, None, None
            try:
                if client is None:
                    client = (lab.redis_client(self.host, user="default", timeout=self.timeout,
                                               password=self.password) if self.host
                              else lab.vip_client(timeout=self.timeout, password=self.password))
                pipe = client.pipeline(transaction=False)
                pipe.set("drill:%s:%d" % (self.run_id, seq), str(seq))
                if self.wait_replicas:
                    pipe.execute_command("WAIT", self.wait_replicas, self.wait_ms)
                pipe.info("server")
                res = pipe.execute(raise_on_error=False)
                if isinstance(res[0], Exception):
                    err = str(res[0])[:60]
                else:
                    ok = bool(res[0])
                if ok and self.wait_replicas and not (isinstance(res[1], int) and res[1] >= self.wait_replicas):
                    ok, err = False, "WAIT: %s replicas" % (res[1],)
                if isinstance(res[-1], dict):
                    run_id = res[-1].get("run_id")
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

def majority(count: int) -> int:
    """Votes that are a majority of `count` nodes (2 of 3, 3 of 5)."""
    return count // 2 + 1


def majority_master(ips: dict):
    """(node, ip) a majority of the group's Sentinels name as master, or (None, None)."""
    named = [lab.sentinel_master(ip) for ip in ips.values() if ip]
    named = [n.rsplit(":", 1)[0] for n in named if n]
    if not named:
        return None, None
    best = max(set(named), key=named.count)
    if named.count(best) < majority(len(ips)):
        return None, None
    return next((n for n, ip in ips.items() if ip == best), None), best


def health(ips: dict) -> tuple[str | None, str]:
    """(the master's node name, "") when the group is whole: every node up, one master with every other node its
    replica in sync, all Sentinels agree, the VIP on that master, a write through the VIP works; else (None, what
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
        if name == master and (info.get("role") != "master" or info.get("connected_slaves") != len(ips) - 1):
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


def inject(fault: str, master: str, ips: dict, note: dict, failover_s: float = 60.0):
    """Inject the fault; returns the monotonic time of the fault instant."""
    if fault == "kill-master":
        t = now()
        lab.docker("kill", master)
        return t
    if fault == "power-off":
        t = now()
        _exec(master, "sh", "-c", "iptables -I INPUT -j DROP; iptables -I OUTPUT -j DROP")
        lab.docker("kill", master)
        return t
    if fault in ("kill-redis-server", "crash-restart", "crash-keepalived"):
        t = now()
        _exec(master, "systemctl", "kill", "-s", "KILL", "keepalived" if fault == "crash-keepalived" else lab.units()["server"])
        return t
    if fault == "restart-empty":
        data = lab.group_vars().get("redis_data_dir", lab.units()["data_dir"])
        t = now()
        _exec(master, "sh", "-c", "rm -rf %s/appendonlydir %s/dump.rdb && systemctl kill -s KILL %s"
              % (data, data, lab.units()["server"]))
        return t
    if fault == "freeze-redis":
        t = now()
        _exec(master, "systemctl", "kill", "-s", "STOP", lab.units()["server"])
        timer = threading.Timer(FREEZE_S - (now() - t), _exec, (master, "systemctl", "kill", "-s", "CONT",
                                                                lab.units()["server"]))
        timer.daemon = True
        timer.start()
        note["freeze_s"] = FREEZE_S
        return t
    if fault == "kill-replica":
        note["target"] = next(n for n in ips if n != master)
        t = now()
        lab.docker("kill", note["target"])
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
        cli = lab.sentinel_client(ips[master], timeout=2)
        t = now()
        cli.execute_command("SENTINEL", "FAILOVER", lab.master_name())
        cli.close()
        return t
    if fault == "migrate-engine":
        os.environ["REDIS_HA_ENGINE"] = "valkey"  # the lab inventory's redis_ha_engine follows it, and lab.units()
    if fault == "rotate-certs":
        note["reissued"] = reissue_node_certificates()
    if fault == "handler-restarts":
        note["changed_files"] = restart_races.change_handler_inputs(list(ips))
    if fault in ("switchover", "rolling-restart", "migrate-engine", "rotate-certs", "handler-restarts"):
        t = now()
        site = fault in ("rotate-certs", "handler-restarts")
        note["playbook_rc"] = run_playbook("site.yml" if site else fault.replace("-", "_") + ".yml")
        note["playbook_s"] = round(now() - t, 2)
        return t
    if fault == "restart-sentinels":
        t = now()
        for node in ips:  # one node at a time, each back before the next (as the handlers do)
            _exec(node, "systemctl", "restart", lab.units()["sentinel"], timeout=60)
            time.sleep(SENTINEL_GAP_S)
        return t
    if fault == "cpu-load":
        t = now()
        lab.docker("exec", "-d", master, "sh", "-c", "for i in $(seq %d); do timeout %d sh -c 'while :; do :; done' & "
                   "done; wait" % (CPU_LOOPS, CPU_LOAD_S))
        note.update(cpu_load_s=CPU_LOAD_S, busy_loops=CPU_LOOPS)
        return t
    if fault == "partition":
        t = now()
        # The cut is read inside the node (the same clock as ours: one kernel) just before the first rule goes in
        # (the docker exec starts 0.05-0.3 s earlier on a busy machine); putting the four rules in takes a few ms.
        out = _exec(master, "sh", "-c", "date +%s.%N; " + partition_rules(master, ips, "-I") + "; date +%s.%N")
        stamps = [float(x) for x in out.stdout.split()[-2:]] if out.returncode == 0 else []
        offset = time.time() - now()
        t_cut = stamps[0] - offset if len(stamps) == 2 else t
        note["cut_after_exec_s"] = round(t_cut - t, 3)
        note["cut_rules_s"] = round(stamps[1] - stamps[0], 3) if len(stamps) == 2 else None
        return t_cut
    if fault == "stale-old-master":
        lab.docker("kill", master)
        # wait (bounded) until a write through the VIP succeeds again, then let the stale old master boot
        t_kill = now()
        t_ok, _attempts, _error = first_write_through_vip("drill:probe", "1", t_kill, failover_s)
        note["failover_before_restart"] = t_ok is not None
        note["kill_to_failover_s"] = round(now() - t_kill, 2)
        t = now()
        lab.docker("start", master)
        return t
    raise ValueError(fault)


def partition_rules(master: str, ips: dict, action: str) -> str:
    """One shell line inserting (-I) or deleting (-D) the DROP rules for both peers, so that the partition
    starts (and heals) at once, not one docker exec per rule."""
    rules = []
    for ip in [ip for n, ip in ips.items() if n != master]:
        rules += ["iptables %s INPUT -s %s -j DROP" % (action, ip), "iptables %s OUTPUT -d %s -j DROP" % (action, ip)]
    return "; ".join(rules)


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
                res = _exec(node, "systemctl", "show", "-p", "ExecMainStartTimestampMonotonic", "--value",
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
        res = _exec(node, "sh", "-c", "tail -n 400 %s; journalctl -u keepalived -o short-unix --no-pager "
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


def repair(fault: str, master: str, ips: dict, note: dict | None = None) -> dict:
    """Undoes the fault; for a node that restarts, returns how long it took to be a replica in sync again."""
    if fault in ("kill-master", "power-off", "kill-replica"):
        node = (note or {}).get("target", master)
        t = now()
        lab.docker("start", node, check=False)
        return wait_in_sync(node, t)
    if fault in ("restart-empty", "crash-restart", "kill-redis-server"):
        return {}
    if fault == "freeze-redis":
        _exec(master, "systemctl", "kill", "-s", "CONT", lab.units()["server"])
    elif fault in ("stop-keepalived", "crash-keepalived"):
        _exec(master, "systemctl", "start", "keepalived")  # a no-op when systemd restarted it
    elif fault == "stop-sentinel":
        _exec(master, "systemctl", "start", lab.units()["sentinel"])
    elif fault == "partition":
        _exec(master, "sh", "-c", partition_rules(master, ips, "-D"))
    return {}


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
        maj = next((v for v in set(vals) if vals.count(v) >= majority(len(named))), None)
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
        try:
            lost = 0
            for i in range(0, len(acked), 500):
                chunk = acked[i:i + 500]
                vals = final_client.mget(["drill:%s:%d" % (final_client.drill_run, s) for s in chunk])
                lost += sum(1 for v in vals if v is None)
        except (redis.RedisError, OSError):
            lost = None  # the final master did not answer: the run counts as not verified, the series goes on
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


def stop_threads(*threads):
    for thread in threads:
        thread.stop.set()
        thread.join(5)


def write_base_keys(master_ip: str, run_id: str, count: int = BASE_KEYS) -> int:
    """Writes `count` keys on the master before the fault and waits until every replica has them; returns
    the number of replicas WAIT reported."""
    cli = lab.redis_client(master_ip, timeout=10)
    try:
        pipe = cli.pipeline(transaction=False)
        for i in range(count):
            pipe.set("drill:%s:base:%d" % (run_id, i), "x" * 100)
        pipe.execute()
        return cli.execute_command("WAIT", len(lab.nodes()) - 1, 5000)
    finally:
        cli.close()


def base_keys_missing(run_id: str, count: int = BASE_KEYS, delete: bool = False) -> dict:
    """Keys written by write_base_keys that each node no longer holds ({node: missing}); deletes them on the
    master afterwards when asked."""
    keys = ["drill:%s:base:%d" % (run_id, i) for i in range(count)]
    missing, master_ip = {}, None
    for name, ip in lab.node_ips().items():
        if not ip:
            missing[name] = None
            continue
        cli = lab.redis_client(ip, timeout=5)
        try:
            missing[name] = sum(1 for v in cli.mget(keys) if v is None)
            if cli.execute_command("ROLE")[0] == b"master":
                master_ip = ip
        except (redis.RedisError, OSError):
            missing[name] = None
        finally:
            cli.close()
    if delete and master_ip:  # only once every node has been counted (the DEL replicates)
        cli = lab.redis_client(master_ip, timeout=5)
        cli.delete(*keys)
        cli.close()
    return missing


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
    t_end = now()
    fences.collect([n for n, ip in lab.node_ips().items() if ip])
    epoch_fault = t_fault + (time.time() - now())  # [node, s after the fault] of every write pause of a watcher
    note["fence_pauses"] = [[node, round(epoch - epoch_fault, 2)] for node, epoch in fences.pauses()]
    if direct:
        acked = [w for w in direct.results if w["ok"] and w["t0"] >= t_fault]
        note["direct_last_ack_after_fault_s"] = round(max(w["t1"] for w in acked) - t_fault, 3) if acked else 0.0
        note["direct_acked_after_fault"] = len(acked)
    # Sentinel's final master (a majority of the Sentinels that answer), read with the admin user
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
                   "observe_s": observe_s, "cadence_s": CADENCE_S, "timeout_s": WRITE_TIMEOUT_S,
                   "wait_replicas": wait_replicas, "base_keys": BASE_KEYS, "base_keys_synced_to": base_synced, **note})
    if fault in ("kill-master", "power-off"):
        result["failover_chain_s"], result["failover_aborts"] = failover_chain(master, t_fault)
    if out:
        plot(fault, index, writer.results, monitor, ips, t_fault, t_start, result, out, setup)
    result.update(repair(fault, master, ips, note))
    # every node must still hold the keys written before the fault; then the run's keys are removed once the
    # group is whole again (keeps the lab small)
    try:
        m = wait_healthy(setup["healthy_s"])
        result["base_keys_missing"] = base_keys_missing(run_id, delete=True)
        result["replica_keys_lost"] = max((v for v in result["base_keys_missing"].values() if v is not None),
                                          default=None)
        cli = lab.redis_client(lab.node_ips()[m], timeout=5)
        for w in [writer] + ([direct] if direct else []):
            for i in range(0, len(w.results) + 1, 500):
                cli.delete(*["drill:%s:%d" % (w.run_id, s) for s in range(i + 1, i + 501)])
        cli.close()
    except (RuntimeError, redis.RedisError, OSError) as exc:
        result["cleanup_error"] = str(exc)[:200]
    return result


def draw_timeline(axes, writes, monitor, ips, t0, size=1.0, sentinel_step=1):
    """The four panes of a timeline (writes ok/failed, node that answered, VIP holder, each Sentinel's
    master) against seconds from t0; the caller sets the title and the markers."""
    names = list(ips)
    ypos = {n: i for i, n in enumerate(names)}
    ok = [w["t0"] - t0 for w in writes if w["ok"]]
    bad = [w["t0"] - t0 for w in writes if not w["ok"]]
    axes[0].vlines(ok, 0.5, 1.5, colors="tab:green", linewidth=0.6 * size, label="ok")
    axes[0].vlines(bad, -0.5, 0.5, colors="tab:red", linewidth=0.6 * size, label="failed")
    axes[0].set_yticks([0, 1], ["failed", "ok"])
    served = [(w["t0"] - t0, ypos.get(w.get("node"), -1)) for w in writes if w["ok"]]
    if served:
        axes[1].scatter(*zip(*served), s=2 * size, c="tab:blue")
    axes[1].set_ylabel("write\nserved by", fontsize=8)
    vip = [(t - t0, ypos[n]) for t, held in monitor.vip for n in held]
    if vip:
        axes[2].scatter(*zip(*vip), s=4 * size, c="tab:orange")
    axes[2].set_ylabel("VIP on", fontsize=8)
    for j, n in enumerate(names):
        pts = [(t - t0, ypos[m]) for t, named in monitor.sentinel[::sentinel_step]
               for m in [next((k for k, ip in ips.items() if ip == named.get(n)), None)] if m]
        if pts:
            # each Sentinel's points a little apart, centred on the node's row whatever the node count
            offset = (j - (len(names) - 1) / 2) * min(0.15, 0.6 / max(len(names), 1))
            axes[3].scatter([p[0] for p in pts], [p[1] + offset for p in pts], s=2 * size,
                            label="Sentinel on %s" % n)
    axes[3].set_ylabel("Sentinel's\nmaster", fontsize=8)
    axes[3].legend(fontsize=6, loc="upper right")
    for ax in axes[1:]:
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_ylim(-0.6, len(names) - 0.4)


def plot(fault, index, writes, monitor, ips, t_fault, t_start, result, out: pathlib.Path, setup: dict = OURS):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(10, 6), gridspec_kw={"height_ratios": [1, 1.2, 1.2, 1.2]})
    draw_timeline(axes, writes, monitor, ips, t_fault)
    axes[0].set_title(setup["title"] + "%s run %d: recovery %s s, failed %.2f s, lost %s, deposed acks %d"
                      % (fault, index, result["recovery_s"], result["failed_s"], result["lost_acked"],
                         result["deposed_acks"]), fontsize=9)
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
        for key in ("recovery_s", "failed_s", "lost_acked", "deposed_acks", "replica_keys_lost", "rejoin_s",
                    "rejoin_after_redis_start_s"):
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[key + "_median"] = round(statistics.median(vals), 3) if vals else None
            row[key + "_max"] = max(vals) if vals else None
            row[key + "_none"] = len(rs) - len(vals)
        row["failover_aborts"] = sum(r.get("failover_aborts", 0) for r in rs)
        rows.append(row)
    return rows


def mm(row: dict, key: str) -> str:
    """"median / max" of one summary field (+ how many runs had no value: not recovered)."""
    s = "%s / %s" % (row[key + "_median"], row[key + "_max"])
    return s + (" (%d not recovered)" % row[key + "_none"] if row[key + "_none"] else "")


def format_table(rows: list[dict]) -> str:
    head = ["fault", "runs", "recovery s (med/max)", "failed writes s (med/max)", "acked lost (med/max)",
            "deposed acks (med/max)", "replica keys lost", "rejoin s (from start / from redis start)",
            "failover aborts"]

    lines = [[r["fault"], str(r["runs"]), mm(r, "recovery_s"), mm(r, "failed_s"), mm(r, "lost_acked"),
              mm(r, "deposed_acks"), mm(r, "replica_keys_lost"),
              "-" if r["rejoin_s_max"] is None else "%s / %s" % (mm(r, "rejoin_s"), mm(r, "rejoin_after_redis_start_s")),
              str(r["failover_aborts"])]
             for r in rows]
    return text_table(head, lines)


def text_table(head: list[str], lines: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        return "\n".join("| %s |" % " | ".join(cells) for cells in [head, ["---"] * len(head), *lines])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    text = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(text)


def drill(faults, runs=1, observe_s=25.0, out=None, setup: dict = OURS, partial=None, wait_replicas: int = 0) -> dict:
    """Python API: run each fault `runs` times; returns {"runs": [...], "summary": [...]}. `partial(results)`
    is called after every run (default: write drill-partial.json into `out`)."""
    results = []
    for fault in faults:
        for i in range(1, runs + 1):
            progress("== %s%s run %d/%d (observed %.0f s)" % (setup["title"], fault, i, runs, observe_s))
            r = one_run(fault, observe_s, out, i, setup=setup, wait_replicas=wait_replicas)
            progress("   recovery %s s (first ok after a failure %s s), failed %.3f s, lost %s, deposed acks %s, served by %s,"
                     " replica keys lost %s, rejoin %s s, write pauses %s" % (
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


# ----------------------------------------------------------------------------------------------------
# soak: N random faults in a row under one writer
# ----------------------------------------------------------------------------------------------------

SOAK_FAULTS = ("kill-master", "kill-replica", "crash-restart", "freeze-redis", "restart-empty", "partition",
               "stop-sentinel", "crash-keepalived", "switchover")
PARTITION_WINDOW_S = 1.0  # documented: writes a partitioned master acknowledges this soon after the cut may be lost


def soak(count: int, out: pathlib.Path | None = None, hold_s: float = 8.0, seed: int | None = None,
         faults=SOAK_FAULTS, wait_replicas: int = 0) -> dict:
    """`count` faults drawn at random from `faults`, one after the other, with one writer through the VIP
    running the whole time. Each fault is held `hold_s` seconds, repaired, and the group must be whole again
    (wait_healthy: VIP on the master all Sentinels name, every replica in sync, a write works) before the next;
    then the VIP holders are checked once more. At the end every acknowledged write is looked up on the final
    master; a lost one is charged to the fault during which it was acknowledged."""
    import random
    rng = random.Random(seed)
    wait_healthy()
    ips = lab.node_ips()
    run_id = uuid.uuid4().hex[:8]
    writer, monitor = Writer(run_id, wait_replicas), Monitor(ips)
    monitor.start()
    writer.start()
    t_start = now()
    fences = fence_log.FenceLog(time.time() - 1)
    events, aborted = [], None
    try:
        time.sleep(2.0)
        for i in range(1, count + 1):
            fault = rng.choice(faults)
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
                aborted = "fault %d (%s): %s" % (i, fault, exc)
                events.append({"n": i, "fault": fault, "old_master": master, "t": t_fault, "error": str(exc)[:300]})
                break
            t_ok = now()
            holders = lab.vip_holders()
            named, _ip = majority_master(lab.node_ips())
            ev = {"n": i, "fault": fault, "old_master": master, "new_master": healthy_master, "t": t_fault,
                  "whole_after_s": round(t_ok - t_fault, 2), "vip_holders": holders, "majority_master": named,
                  "vip_ok": holders == [named], **note, **rep}
            events.append(ev)
            progress("   whole again after %.1f s, master %s, VIP on %s%s" % (
                ev["whole_after_s"], named, holders, "" if ev["vip_ok"] else "  !! VIP NOT ON THE MAJORITY'S MASTER"))
    finally:
        stop_threads(writer, monitor)
    t_end = now()
    fences.collect(lab.node_ips())
    report = soak_analyse(writer.results, events, monitor, run_id, t_start, t_end)
    report["fence"] = soak_fences(fences.pauses(), events, hold_s)
    report.update({"faults_requested": count, "hold_s": hold_s, "seed": seed, "aborted": aborted,
                   "partition_window_s": PARTITION_WINDOW_S, "wait_replicas": wait_replicas})
    if out:
        soak_plot(writer.results, events, monitor, ips, t_start, report, out)
    return report


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


def soak_analyse(writes, events, monitor, run_id, t_start, t_end) -> dict:
    for name, ip in lab.node_ips().items():
        _r, rid = lab_role_runid(ip, timeout=1)
        if rid:
            monitor.run_ids[rid] = name
    for w in writes:
        w["node"] = monitor.run_ids.get(w["run_id"], "?") if w["ok"] else None
    _m, fip = majority_master(lab.node_ips())
    acked = [w for w in writes if w["ok"]]
    lost_writes = []
    if fip:
        cli = lab.redis_client(fip, timeout=10)
        for i in range(0, len(acked), 500):
            chunk = acked[i:i + 500]
            vals = cli.mget(["drill:%s:%d" % (run_id, w["seq"]) for w in chunk])
            lost_writes += [w for w, v in zip(chunk, vals) if v is None]
        for i in range(0, len(writes) + 1, 500):
            cli.delete(*["drill:%s:%d" % (run_id, s) for s in range(i + 1, i + 501)])
        cli.close()
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
    double = [(round(t - t_start, 2), held) for t, held in monitor.vip if len(held) > 1]
    failed_s, start = 0.0, None
    for w in writes:
        if not w["ok"] and start is None:
            start = w["t0"]
        elif w["ok"] and start is not None:
            failed_s += w["t0"] - start
            start = None
    per_fault: dict = {}
    for ev in events:
        row = per_fault.setdefault(ev["fault"], {"count": 0, "lost": 0, "vip_ok": 0, "whole_after_s": []})
        row["count"] += 1
        row["lost"] += ev.get("lost", 0)
        row["vip_ok"] += 1 if ev.get("vip_ok") else 0
        if ev.get("whole_after_s") is not None:
            row["whole_after_s"].append(ev["whole_after_s"])
    for row in per_fault.values():
        vals = row.pop("whole_after_s")
        row["whole_after_s_median"] = round(statistics.median(vals), 2) if vals else None
        row["whole_after_s_max"] = max(vals) if vals else None
    return {"run_id": run_id, "duration_s": round(t_end - t_start, 1), "faults": len(events),
            "writes": len(writes), "acked": len(acked), "failed_writes_s": round(failed_s, 2),
            "lost_acked": len(lost_writes), "lost_outside_partition_window": outside,
            "vip_ok_after_every_fault": all(e.get("vip_ok") for e in events),
            "double_vip_polls": len(double), "double_vip_samples": double[:20], "vip_polls": len(monitor.vip),
            "per_fault": per_fault,
            "events": [{k: (round(v - t_start, 2) if k == "t" else v) for k, v in e.items()} for e in events]}


def soak_plot(writes, events, monitor, ips, t_start, report, out: pathlib.Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(22, 8), gridspec_kw={"height_ratios": [1, 1.2, 1.2, 1.2]})
    draw_timeline(axes, writes, monitor, ips, t_start, size=0.5, sentinel_step=4)
    axes[0].set_title("soak: %d faults in %.0f s, %d writes, %d acked, %d acked lost (%d outside the partition window), "
                      "failed %.1f s, VIP on the majority's master after every fault: %s, polls with two VIP holders: %d"
                      % (report["faults"], report["duration_s"], report["writes"], report["acked"],
                         report["lost_acked"], report["lost_outside_partition_window"], report["failed_writes_s"],
                         report["vip_ok_after_every_fault"], report["double_vip_polls"]), fontsize=9, pad=60)
    for ev in events:
        x = ev["t"] - t_start
        for ax in axes:
            ax.axvline(x, color="black", linestyle=":", linewidth=0.6)
        axes[0].text(x, 1.6, "%d %s" % (ev["n"], ev["fault"]), rotation=90, fontsize=5, va="bottom")
    axes[3].set_xlabel("seconds from the start of the soak")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "soak.png", dpi=80)
    plt.close(fig)


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
    global FREEZE_S, SETUP_DELAY_US  # noqa: PLW0603 - CLI settings for inject() and one_run()
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
    parser.add_argument("--freeze", type=float, default=FREEZE_S, help="seconds freeze-redis keeps Redis stopped")
    parser.add_argument("--tag", default="recipe-compare",
                        help="name of the JSON / table and prefix of the PNGs (--compare-recipe)")
    parser.add_argument("--setup-delay-us", type=int, default=None, metavar="N",
                        help="before each run, every node holds incoming TCP SYN and RST packets N microseconds "
                             "(tools/setup_delay.py): connection set-up takes a network round trip, as between "
                             "hosts, instead of being answered inside connect() as on the lab's shared kernel")
    args = parser.parse_args(argv)
    FREEZE_S, SETUP_DELAY_US = args.freeze, args.setup_delay_us
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
    print(text_table(["fault", "count", "acked lost", "VIP on the majority's master after it", "whole again s (med/max)"],
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
