"""The drills' load and observers (tools/drill.py): the writer through the VIP (or straight to one node), the
monitor polling every Sentinel, role and VIP holder, and the keys written before a fault and looked up after it."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid

import lab
import redis
from drill_group import now, role_runid, sentinel_ip

CADENCE_S = 0.02          # one write attempt every 20 ms
WRITE_TIMEOUT_S = 0.2     # client socket / connect timeout (short, as an application would set it)
POLL_S = 0.05             # Sentinel / role poll period of the monitor
BASE_KEYS = 2000          # keys written before the fault; every node must hold all of them after the run
CHUNK = 500               # keys per MGET / DEL


class Writer(threading.Thread):
    """Sequenced writes through the VIP: SET drill:<run>:<seq> + INFO server (which node answered)."""

    def __init__(self, run_id: str, wait_replicas: int = 0, wait_ms: int = 200, host: str | None = None,
                 password: str | None = None, timeout: float = WRITE_TIMEOUT_S, grp: str | None = None):
        super().__init__(daemon=True)
        self.grp = grp  # the Redis group written to (None: the group ha; docs/group-model.md)
        self.run_id, self.stop, self.results = run_id, threading.Event(), []
        self.password = password  # None: the inventory's application password
        self.timeout = timeout
        self.host = host  # None: through the VIP; else straight to that node (a client that bypasses the VIP)
        # wait_replicas > 0: each SET is followed by WAIT <n> <ms>; a write counts as acknowledged only when
        # WAIT reports at least n replicas (what a client that needs zero loss does)
        self.wait_replicas, self.wait_ms = wait_replicas, wait_ms

    def _client(self):
        if self.host:
            return lab.redis_client(self.host, user="default", timeout=self.timeout, password=self.password,
                                    grp=self.grp)
        return lab.vip_client(timeout=self.timeout, password=self.password, grp=self.grp)

    def _write(self, client, seq):
        """(acknowledged, error, run_id of the server that answered) of one SET (+ WAIT) + INFO server."""
        ok, err, run_id = False, None, None
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
        return ok, err, run_id

    def run(self):
        client, seq, nxt = None, 0, now()
        while not self.stop.is_set():
            seq += 1
            t0 = now()
            ok, err, run_id = False, None, None
            try:
                if client is None:
                    client = self._client()
                ok, err, run_id = self._write(client, seq)
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
    few polls, through nsenter into the containers' network namespaces) which node holds the VIP; of one group
    (grp; None: the group ha)."""

    def __init__(self, ips: dict, grp: str | None = None):
        super().__init__(daemon=True)
        self.ips, self.grp, self.stop = dict(ips), grp, threading.Event()
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
            elif " %s/" % lab.vip(self.grp) in res.stdout:
                held.append(name)
        return held

    def learn_run_ids(self):
        """Asks every node once for its run_id: roles polled late may have missed a restarted node's."""
        for name, ip in lab.node_ips().items():
            _role, rid = role_runid(ip, timeout=1, grp=self.grp)
            if rid:
                self.run_ids[rid] = name

    def run(self):
        i = 0
        while not self.stop.is_set():
            t = now()
            self.sentinel.append((t, {name: sentinel_ip(ip, grp=self.grp) if ip else None
                                      for name, ip in self.ips.items()}))
            if i % 4 == 0:
                roles = {}
                for name, ip in self.ips.items():
                    roles[name], run_id = role_runid(ip, grp=self.grp)
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


def stop_threads(*threads):
    for thread in threads:
        thread.stop.set()
        thread.join(5)


def missing_writes(client, run_id: str, writes: list[dict]) -> list[dict]:
    """The writes (acknowledged ones, as the writer recorded them) whose keys `client`'s server does not hold."""
    missing = []
    for i in range(0, len(writes), CHUNK):
        chunk = writes[i:i + CHUNK]
        vals = client.mget(["drill:%s:%d" % (run_id, w["seq"]) for w in chunk])
        missing += [w for w, v in zip(chunk, vals) if v is None]
    return missing


def delete_writes(client, writer: Writer):
    """Deletes every key the writer wrote (keeps the lab small)."""
    for i in range(0, len(writer.results) + 1, CHUNK):
        client.delete(*["drill:%s:%d" % (writer.run_id, s) for s in range(i + 1, i + CHUNK + 1)])


def group_writers(groups, prefix: str = "groups") -> dict:
    """One started Writer through the VIP of each group ({group: writer}; None is the group ha), run ids
    <prefix>-<group>-<random>."""
    writers = {grp: Writer("%s-%s-%s" % (prefix, grp or "ha", uuid.uuid4().hex[:8]), grp=grp) for grp in groups}
    for writer in writers.values():
        writer.start()
    return writers


def lost_writes(writers: dict, ips: dict) -> dict:
    """Acknowledged writes of each group ({group name: count}, "ha" for None) that the group's master does not hold,
    after the writers stopped; deletes the writers' keys."""
    lost = {}
    for grp, writer in writers.items():
        client = lab.redis_client(ips[lab.group_master(grp, ips)], grp=grp)
        try:
            lost[grp or "ha"] = len(missing_writes(client, writer.run_id, [r for r in writer.results if r["ok"]]))
            delete_writes(client, writer)
        finally:
            client.close()
    return lost


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
