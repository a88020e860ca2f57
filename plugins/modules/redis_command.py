#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_command
short_description: Run one Redis command, or a planned zero-loss switchover of the Sentinel-managed master
version_added: "0.1.0"
description:
  - With I(command), sends that one command (after C(AUTH) when a password is given) to I(login_host) and
    returns the reply. Always reports C(changed) unless I(read_only) is true; use C(changed_when).
  - With I(switchover=true), performs a planned switchover of the group that the Sentinels in I(sentinels)
    monitor as I(master_name), in one module run so that the write pause stays short
    (C(playbooks/switchover.yml)). The sequence follows.
  - 1. Ask the Sentinels for the master (a majority must agree) and choose the target (I(target), or the best
    replica, i.e. link up, replica-priority not 0, lowest priority, largest replication offset).
  - 2. Set C(replica-priority 0) on the other replicas, so that Sentinel can only choose the target.
  - 3. C(CLIENT PAUSE <pause_ms> WRITE) on the old master; clients' writes block from now on.
  - 4. Wait until the target's replication offset reaches the old master's offset (every acknowledged write
    is on the target).
  - 5. C(SENTINEL FAILOVER) on one Sentinel (timed, see I(align_ms)), and wait until a majority of the Sentinels name the target (then
    the VIP check promotes it and keepalived moves the VIP).
  - 6. C(REPLICAOF target) on the old master (what Sentinel would do later anyway), then C(CLIENT UNPAUSE).
    Writes that were blocked on the old master now get C(-READONLY); none is accepted by a deposed master.
  - 7. Restore the replica priorities.
  - If anything fails before the Sentinels switched, the old master is unpaused and the priorities are
    restored; nothing else changed. The pause ends on its own after I(pause_ms) in any case.
  - Sentinel's own C(SENTINEL FAILOVER) alone does not stop the old master from accepting writes while the
    failover runs; those writes are lost when it is turned into a replica. The pause is what prevents that.
author:
  - redis_ha maintainers (@redis-ha)
options:
  command:
    description: The command and its arguments, one list item each.
    type: list
    elements: str
  read_only:
    description: The command changes nothing (report C(changed=false), run in check mode too).
    type: bool
    default: false
  switchover:
    description: Perform the planned switchover described above instead of I(command).
    type: bool
    default: false
  sentinels:
    description: Sentinel addresses (C(host:port)) of the group (I(switchover)).
    type: list
    elements: str
    default: []
  sentinel_password:
    description: Password of the Sentinels (I(switchover)).
    type: str
  master_name:
    description: Sentinel group name (I(switchover)).
    type: str
    default: mymaster
  redis_port:
    description: Redis port of the nodes (I(switchover)).
    type: int
    default: 6379
  target:
    description: Address of the replica to promote (I(switchover)); empty chooses the best replica.
    type: str
    default: ""
  pause_ms:
    description: Upper bound of the write pause on the old master in milliseconds; the switchover fails
      (and unpauses) if the Sentinels have not switched by then.
    type: int
    default: 5000
  align_ms:
    description:
      - Sentinel notices the promotion only at its next C(INFO) to the target, which it sends once a second
        during a failover, counted from its previous C(INFO) (every 10 s otherwise). The module watches the
        target (C(MONITOR), at most 12 s) for a Sentinel's periodic C(INFO) and starts the pause and the
        failover, on that Sentinel, I(align_ms) later, so that the next C(INFO) follows the promotion
        closely. Without it (C(0)) Sentinel needs about 1 s to notice the promotion.
    type: int
    default: 500
notes:
  - I(login_host) and I(login_port) address the server of I(command). A I(switchover) uses I(login_user) and
    I(login_password) on every Redis node of the group, so that user needs admin rights there.
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: partial
    details: Check mode runs I(command) only when I(read_only) is true; a I(switchover) in check mode only
      reports the master and the target it would choose.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Ask Redis for its role
  redis_ha.sentinel_vip.redis_command:
    login_user: admin
    login_password: "{{ redis_admin_password }}"
    command: [ROLE]
    read_only: true

- name: Planned switchover to the best replica
  redis_ha.sentinel_vip.redis_command:
    switchover: true
    login_user: admin
    login_password: "{{ redis_admin_password }}"
    sentinels: [192.0.2.11:26379, 192.0.2.12:26379, 192.0.2.13:26379]
    sentinel_password: "{{ sentinel_password }}"
"""

RETURN = r"""
aligned_to_sentinel:
  description: Sentinel whose periodic C(INFO) the failover was aligned to (null when not aligned).
  returned: switchover
  type: str
reply:
  description: Reply of I(command) (bytes decoded as UTF-8, errors raise a failure).
  returned: when command is given
  type: raw
old_master:
  description: Address of the master before the switchover.
  returned: switchover
  type: str
new_master:
  description: Address of the master after the switchover (the target).
  returned: switchover
  type: str
paused_ms:
  description: Milliseconds the old master's writes were paused.
  returned: switchover
  type: float
steps:
  description: Milliseconds from the pause to each step of the switchover.
  returned: switchover
  type: dict
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import login_argument_spec
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.addresses import split_hostport
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.client import redis_call
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import RespError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.resp import auth_command, encode_command, resp_to_text


def wait_sentinel_info(host, port, user, password, sentinel_hosts, timeout):
    """MONITOR the target until one of the Sentinels sends it INFO; return (that Sentinel's host, the
    monotonic time the line was read) or (None, None) after timeout seconds."""
    end = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout=2.0)
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
    def __init__(self, p):
        self.p = p
        self.sentinels = [split_hostport(s) for s in p["sentinels"]]
        self.steps = {}
        self.t0 = None
        self.aligned = None

    def redis(self, host, args, timeout=2.0):
        return redis_call(host, self.p["redis_port"], args, user=self.p["login_user"],
                          password=self.p["login_password"], timeout=timeout)

    def named(self, timeout=0.5):
        names = []
        for host, port in self.sentinels:
            try:
                r = redis_call(host, port, ["SENTINEL", "get-master-addr-by-name", self.p["master_name"]],
                               password=self.p["sentinel_password"], timeout=timeout)
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
        master, target, replicas = self.choose()
        result = dict(old_master=master, new_master=target["host"], changed=not check_mode)
        if check_mode:
            return result
        others = [r for r in replicas if r["host"] != target["host"]]
        for r in others:
            self.redis(r["host"], ["CONFIG", "SET", "replica-priority", "0"])
        switched = False
        try:
            if target["prio"] == 0:
                self.redis(target["host"], ["CONFIG", "SET", "replica-priority", "100"])
            leader = self.sentinels[0]
            if self.p["align_ms"] > 0:
                # Sentinel notices the promotion only at its next INFO to the target, sent once a second
                # during a failover, counted from its previous INFO. Start the failover align_ms after that
                # Sentinel's periodic INFO, so that its next INFO comes soon after the promotion.
                src, seen = wait_sentinel_info(target["host"], self.p["redis_port"], self.p["login_user"],
                                               self.p["login_password"], [h for h, _p in self.sentinels], 12.0)
                if src:
                    leader = next(s for s in self.sentinels if s[0] == src)
                    delay = seen + self.p["align_ms"] / 1000.0 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                self.aligned = src
            self.t0 = time.monotonic()
            self.redis(master, ["CLIENT", "PAUSE", str(self.p["pause_ms"]), "WRITE"])
            self.mark("paused")
            deadline = self.t0 + self.p["pause_ms"] / 1000.0 - 0.5
            want = int(_info(self.redis(master, ["INFO", "replication"]))["master_repl_offset"])
            while True:
                got = int(_info(self.redis(target["host"], ["INFO", "replication"])).get("slave_repl_offset", -1))
                if got >= want:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the target did not catch up (offset %d of %d)" % (got, want))
                time.sleep(0.002)
            self.mark("target_caught_up")
            host, port = leader
            redis_call(host, port, ["SENTINEL", "FAILOVER", self.p["master_name"]],
                       password=self.p["sentinel_password"], timeout=2.0)
            self.mark("sentinel_failover_sent")
            while True:
                names = self.named(timeout=0.3)
                if self.majority(names) == target["host"]:
                    switched = True
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the Sentinels did not switch to %s in time (%s)" % (target["host"], names))
                time.sleep(0.01)
            self.mark("sentinels_switched")
            self.redis(master, ["REPLICAOF", target["host"], str(self.p["redis_port"])])
            self.mark("old_master_replicaof")
        finally:
            try:
                self.redis(master, ["CLIENT", "UNPAUSE"])
            except (RespError, OSError):
                pass
            if self.t0 is not None:
                self.mark("unpaused")
            for r in others:
                try:
                    self.redis(r["host"], ["CONFIG", "SET", "replica-priority", str(r["prio"])])
                except (RespError, OSError):
                    pass
            if target["prio"] == 0:
                try:
                    self.redis(target["host"], ["CONFIG", "SET", "replica-priority", "0"])
                except (RespError, OSError):
                    pass
        result.update(steps=self.steps, paused_ms=self.steps.get("unpaused"), switched=switched,
                      aligned_to_sentinel=self.aligned)
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_argument_spec(6379),
            command=dict(type="list", elements="str"),
            read_only=dict(type="bool", default=False),
            switchover=dict(type="bool", default=False),
            sentinels=dict(type="list", elements="str", default=[]),
            sentinel_password=dict(type="str", no_log=True),
            master_name=dict(type="str", default="mymaster"),
            redis_port=dict(type="int", default=6379),
            target=dict(type="str", default=""),
            pause_ms=dict(type="int", default=5000),
            align_ms=dict(type="int", default=500),
        ),
        mutually_exclusive=[("command", "switchover")],
        supports_check_mode=True,
    )
    p = module.params
    if p["switchover"]:
        if len(p["sentinels"]) < 3:
            module.fail_json(msg="switchover needs the addresses of the (at least three) Sentinels")
        try:
            module.exit_json(**Switchover(p).run(module.check_mode))
        except (RespError, OSError, RuntimeError, ValueError, KeyError) as exc:
            module.fail_json(msg="switchover failed: %s" % exc)
    if not p["command"]:
        module.fail_json(msg="give either command or switchover=true")
    if module.check_mode and not p["read_only"]:
        module.exit_json(changed=True, reply=None)
    try:
        reply = redis_call(p["login_host"], p["login_port"], p["command"], user=p["login_user"],
                           password=p["login_password"], timeout=5.0)
    except (RespError, OSError) as exc:
        module.fail_json(msg="%s failed: %s" % (p["command"][0], exc))
    module.exit_json(changed=not p["read_only"], reply=resp_to_text(reply))


if __name__ == "__main__":
    main()
