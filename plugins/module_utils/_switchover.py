# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planned switchover of a Sentinel-managed master (module redis_switchover): choose the target,
pause the old master's writes, wait until the target has every write, SENTINEL FAILOVER, demote the old
master, unpause. Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import time

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.addresses import split_hostport
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.client import redis_call
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import RespError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.resp import auth_command, encode_command, resp_to_text


def wait_sentinel_info(host, port, user, password, sentinel_hosts, timeout, tls=None):
    """MONITOR the target until one of the Sentinels sends it INFO; return (that Sentinel's host, the
    monotonic time the line was read) or (None, None) after timeout seconds (``tls``: transport.TLS or None)."""
    end = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout=2.0)
    if tls is not None:
        sock = tls.context.wrap_socket(sock, server_hostname=tls.server_name or host)
    try:
        auth = auth_command(user, password)
        sock.sendall((encode_command(auth) if auth else b"") + encode_command(["MONITOR"]))
        buf = b""
        oks = 2 if auth else 1
        while time.monotonic() < end:
            sock.settimeout(max(0.05, end - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                if line.startswith(b"-"):
                    raise RespError(line[1:].decode("utf-8", "replace"))
                if oks:
                    oks -= 1
                    continue
                # +1700000000.123456 [0 192.0.2.12:41234] "INFO"
                text = line.decode("utf-8", "replace")
                if text.lower().endswith('"info"') and "[" in text:
                    src = text.split("[", 1)[1].split("]", 1)[0].split(" ", 1)[-1].rsplit(":", 1)[0]
                    if src in sentinel_hosts:
                        return src, time.monotonic()
        return None, None
    finally:
        sock.close()


def _info(text):
    out = {}
    for line in resp_to_text(text).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


class Switchover(object):
    def __init__(self, p, tls=None):
        self.p = p
        self.tls = tls
        self.sentinels = [split_hostport(s) for s in p["sentinels"]]
        self.steps = {}
        self.t0 = None
        self.aligned = None

    def redis(self, host, args, timeout=2.0):
        return redis_call(host, self.p["redis_port"], args, user=self.p["login_user"],
                          password=self.p["login_password"], timeout=timeout, tls=self.tls)

    def named(self, timeout=0.5):
        names = []
        for host, port in self.sentinels:
            try:
                r = redis_call(host, port, ["SENTINEL", "get-master-addr-by-name", self.p["master_name"]],
                               password=self.p["sentinel_password"], timeout=timeout, tls=self.tls)
                names.append(resp_to_text(r[0]) if r else None)
            except (RespError, OSError):
                names.append(None)
        return names

    def mark(self, name):
        self.steps[name] = round((time.monotonic() - self.t0) * 1000.0, 1)

    def majority(self, names):
        found = [n for n in names if n]
        best = max(set(found), key=found.count) if found else None
        return best if best and found.count(best) * 2 > len(self.sentinels) else None

    def choose(self):
        master = self.majority(self.named(timeout=2.0))
        if not master:
            raise RuntimeError("no majority of the Sentinels names a master")
        info = _info(self.redis(master, ["INFO", "replication"]))
        if info.get("role") != "master":
            raise RuntimeError("%s is named by the Sentinels but is not a master" % master)
        replicas = []
        for key, value in info.items():
            if key.startswith("slave") and key[5:].isdigit():
                fields = dict(kv.split("=", 1) for kv in value.split(","))
                host = fields["ip"]
                rinfo = _info(self.redis(host, ["INFO", "replication"]))
                prio = int(resp_to_text(self.redis(host, ["CONFIG", "GET", "replica-priority"]))[1])
                replicas.append(dict(host=host, prio=prio, offset=int(rinfo.get("slave_repl_offset", 0)),
                                     up=rinfo.get("master_link_status") == "up"))
        if self.p["target"]:
            target = [r for r in replicas if r["host"] == self.p["target"]]
            if not target or not target[0]["up"]:
                raise RuntimeError("%s is not a replica of %s with its link up" % (self.p["target"], master))
            target = target[0]
        else:
            good = [r for r in replicas if r["up"] and r["prio"] > 0]
            if not good:
                raise RuntimeError("no replica with its link up and a replica-priority above 0")
            target = sorted(good, key=lambda r: (r["prio"], -r["offset"]))[0]
        return master, target, replicas

    def run(self, check_mode):
        """Switch the master over to the chosen target; in check mode only report the choice."""
        master, target, replicas = self.choose()
        result = dict(old_master=master, new_master=target["host"], changed=not check_mode)
        if check_mode:
            return result
        others = [r for r in replicas if r["host"] != target["host"]]
        switched = False
        try:
            self.only_target_eligible(target, others)
            leader = self.align(target)
            self.pause_until_caught_up(master, target)
            switched = self.fail_over(leader, target)
            self.redis(master, ["REPLICAOF", target["host"], str(self.p["redis_port"])])
            self.mark("old_master_replicaof")
        finally:
            self.restore(master, target, others)
        result.update(steps=self.steps, paused_ms=self.steps.get("unpaused"), switched=switched,
                      aligned_to_sentinel=self.aligned)
        return result

    def only_target_eligible(self, target, others):
        """replica-priority 0 on the other replicas, a non-zero one on the target: Sentinel can only choose it."""
        for r in others:
            self.redis(r["host"], ["CONFIG", "SET", "replica-priority", "0"])
        if target["prio"] == 0:
            self.redis(target["host"], ["CONFIG", "SET", "replica-priority", "100"])

    def align(self, target):
        """The Sentinel to send SENTINEL FAILOVER to, waiting until align_ms after its periodic INFO.

        Sentinel notices the promotion only at its next INFO to the target, sent once a second during a
        failover, counted from its previous INFO: starting align_ms after that INFO makes the next one come
        soon after the promotion."""
        leader = self.sentinels[0]
        if self.p["align_ms"] <= 0:
            return leader
        src, seen = wait_sentinel_info(target["host"], self.p["redis_port"], self.p["login_user"],
                                       self.p["login_password"], [h for h, _p in self.sentinels], 12.0, self.tls)
        if src:
            leader = next(s for s in self.sentinels if s[0] == src)
            delay = seen + self.p["align_ms"] / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.aligned = src
        return leader

    def deadline(self):
        return self.t0 + self.p["pause_ms"] / 1000.0 - 0.5

    def pause_until_caught_up(self, master, target):
        """CLIENT PAUSE WRITE on the old master, then wait until the target has its whole offset."""
        self.t0 = time.monotonic()
        self.redis(master, ["CLIENT", "PAUSE", str(self.p["pause_ms"]), "WRITE"])
        self.mark("paused")
        want = int(_info(self.redis(master, ["INFO", "replication"]))["master_repl_offset"])
        while True:
            got = int(_info(self.redis(target["host"], ["INFO", "replication"])).get("slave_repl_offset", -1))
            if got >= want:
                break
            if time.monotonic() > self.deadline():
                raise RuntimeError("the target did not catch up (offset %d of %d)" % (got, want))
            time.sleep(0.002)
        self.mark("target_caught_up")

    def fail_over(self, leader, target):
        """SENTINEL FAILOVER on the leader, then wait until a majority of the Sentinels name the target."""
        host, port = leader
        redis_call(host, port, ["SENTINEL", "FAILOVER", self.p["master_name"]],
                   password=self.p["sentinel_password"], timeout=2.0, tls=self.tls)
        self.mark("sentinel_failover_sent")
        while True:
            names = self.named(timeout=0.3)
            if self.majority(names) == target["host"]:
                self.mark("sentinels_switched")
                return True
            if time.monotonic() > self.deadline():
                raise RuntimeError("the Sentinels did not switch to %s in time (%s)" % (target["host"], names))
            time.sleep(0.01)

    def restore(self, master, target, others):
        """Unpause the old master and put the replica priorities back (also after a failure), in the configuration
        files too: Sentinel's reconfiguration of a replica (REPLICAOF + CONFIG REWRITE) during the failover wrote
        the temporary priority into its file, which the next start of that server would read (a replica that
        Sentinel then never promotes)."""
        self.quietly(master, ["CLIENT", "UNPAUSE"])
        if self.t0 is not None:
            self.mark("unpaused")
        for r in others:
            self.quietly(r["host"], ["CONFIG", "SET", "replica-priority", str(r["prio"])])
            self.quietly(r["host"], ["CONFIG", "REWRITE"])
        if target["prio"] == 0:
            self.quietly(target["host"], ["CONFIG", "SET", "replica-priority", "0"])
            self.quietly(target["host"], ["CONFIG", "REWRITE"])

    def quietly(self, host, args):
        try:
            self.redis(host, args)
        except (RespError, OSError):
            pass
