"""Rotation of every secret the collection manages (README, "Rotating secrets"), on Debian 13 + Redis 8.0 only
(suite budget), in three site.yml runs driven by extra vars over the lab inventory:

1. the new passwords in the usual variables, the lab's passwords in the *_previous ones: every place accepts
   both, the collection's own consumers switch to the new ones. A writer on the OLD application password runs
   through the VIP from before the run, a writer on the NEW one from the moment the group accepts it;
2. the *_previous variables removed: the old passwords are retired everywhere;
3. the same again: changed=0.

Asserted: 0 failed writes on either writer (the old one until retirement, the new one through runs 1-3); the
old passwords refused and the new ones accepted by every Redis user and every Sentinel on every node; the
master (its run_id) and the VIP never moved; after the links were cut on purpose, the replicas, Sentinel's links
to Redis and the Sentinels' links to each other come back with the new passwords; the check's verdict from the
new configuration; the Sentinels agree (SENTINEL CKQUORUM).

The group is left on the new passwords, which only extra vars of this test know: this module must stay the
last of the scenario (checked below)."""

import json
import pathlib
import re
import threading
import time

import drill
import lab
import pytest
import redis

pytestmark = pytest.mark.skipif((lab.platform(), lab.engine()) != ("debian13", "redis"),
                                reason="rotation runs on Debian 13 + Redis 8.0 only (suite budget)")

# The new passwords (same character rules as the lab's: Sentinel passwords without blanks or quotes).
NEW = {
    "redis_password": "rotated app pw #$ 2026",
    "redis_admin_password": "rotated-admin-pw-2026",
    "redis_replication_password": "rotated repl 'pw' #$ 2026",
    "redis_ha_sentinel_user_password": "rotated-sentinel-acl-pw#$",
    "redis_ha_check_user_password": "rotated check pw #$",
    "redis_ha_sentinel_password": "rotated-sentinel-pw#$",
}
# Redis user -> the variable of its password (the lab's user names are the roles' defaults).
USERS = {None: "redis_password", "admin": "redis_admin_password", "replicator": "redis_replication_password",
         "sentinel": "redis_ha_sentinel_user_password", "vipcheck": "redis_ha_check_user_password"}
CHECK = ["/usr/bin/python3", "-IS", "/usr/local/lib/redis-vip-check/vip_check.py",
         "/etc/keepalived/redis-vip-check.conf"]
RECOVER_S = 20
# Client timeout of the writers: a refused password, NOREPLICAS or a VIP that left fail at once or within it; the
# drills' 0.2 s would also count the scheduling stalls of a loaded two-core machine.
WRITE_TIMEOUT_S = 1.0


def _site(tmp_path, name, extra):
    """site.yml with extra vars; returns {host: changed}."""
    path = tmp_path / ("%s.json" % name)
    path.write_text(json.dumps(extra))
    t0 = time.monotonic()
    res = drill.ansible_playbook("site.yml", ["-e", "@%s" % path])
    print("\nMEASURED: site.yml %s %.0f s" % (name, time.monotonic() - t0))
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    recap = {h: int(c) for h, c in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M)}
    assert len(recap) == len(lab.nodes()), res.stdout[-2000:]
    return recap


def _accepts(host, port, user, password):
    cli = redis.Redis(host=host, port=port, username=user, password=password, socket_timeout=2,
                      socket_connect_timeout=2, **lab.tls_kwargs())
    try:
        return cli.ping() is True
    except redis.AuthenticationError:
        return False
    finally:
        cli.close()


class VipWatch(threading.Thread):
    """Which nodes hold the VIP, sampled until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.seen, self.changes = threading.Event(), set(), []

    def run(self):
        last = None
        while not self.stop.is_set():
            holders = tuple(lab.vip_holders())
            if holders != last:
                self.changes.append((time.monotonic(), holders))
                last = holders
            self.seen.add(holders)
            time.sleep(0.3)


class NewPasswordWriter(threading.Thread):
    """Waits until the VIP's Redis accepts the new application password, then writes with it (drill.Writer)."""

    def __init__(self, password):
        super().__init__(daemon=True)
        self.password, self.stop, self.writer, self.accepted_at = password, threading.Event(), None, None

    def _accepted(self):
        try:
            return _accepts(lab.vip(), lab.redis_port(), None, self.password)
        except (redis.RedisError, OSError):
            return False

    def run(self):
        while not self.stop.is_set() and not self._accepted():
            time.sleep(0.05)
        if not self.stop.is_set():
            self.accepted_at = time.monotonic()
            self.writer = drill.Writer("rotation-new", password=self.password, timeout=WRITE_TIMEOUT_S)
            self.writer.start()

    def halt(self):
        self.stop.set()
        self.join()
        if self.writer:
            drill.stop_threads(self.writer)
        return self.writer.results if self.writer else []


def _failed(results):
    return [r for r in results if not r["ok"]]


def _when(results, t0):
    """The failed writes as (seconds since t0, error), for the assertion messages."""
    return [(round(r["t0"] - t0, 2), r["err"]) for r in _failed(results)]


def _kill_links(master_ip, ips, admin_pw, sentinel_pw):
    """Cut, on purpose, every link that authenticated before the retirement: replication (masterauth), Sentinel
    to Redis (auth-pass), Sentinel to Sentinel (sentinel-pass). They must come back with the new passwords."""
    admin = lab.redis_client(master_ip, password=admin_pw)
    try:
        admin.execute_command("CLIENT", "KILL", "TYPE", "replica")
        admin.execute_command("CLIENT", "KILL", "USER", "sentinel")
    finally:
        admin.close()
    for ip in ips.values():
        cli = lab.sentinel_client(ip, password=sentinel_pw)
        try:
            for client in cli.client_list():
                if client.get("name", "").startswith("sentinel-"):
                    cli.execute_command("CLIENT", "KILL", "ID", client["id"])
        finally:
            cli.close()


def _fields(reply):
    """A Sentinel reply of field/value pairs (a RESP3 map or a RESP2 flat list) as {str: str}."""
    def text(value):
        return value.decode() if isinstance(value, bytes) else str(value)
    items = reply.items() if isinstance(reply, dict) else zip(reply[0::2], reply[1::2])
    return {text(k): text(v) for k, v in items}


def _links_healthy(master_ip, ips, admin_pw, sentinel_pw):
    try:
        return _links_up(master_ip, ips, admin_pw, sentinel_pw)
    except (redis.RedisError, OSError):
        return False


def _links_up(master_ip, ips, admin_pw, sentinel_pw):
    """Replicas online on the master; every Sentinel sees the master and the other Sentinels answer PING."""
    admin = lab.redis_client(master_ip, password=admin_pw)
    try:
        info = admin.info("replication")
    finally:
        admin.close()
    replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
    if info.get("connected_slaves") != len(ips) - 1 or any(r.get("state") != "online" for r in replicas):
        return False
    for ip in ips.values():
        cli = lab.sentinel_client(ip, password=sentinel_pw)
        try:
            master = _fields(cli.execute_command("SENTINEL", "MASTER", lab.master_name()))
            peers = [_fields(p) for p in cli.execute_command("SENTINEL", "SENTINELS", lab.master_name())]
        finally:
            cli.close()
        if master["flags"] != "master" or int(master["last-ok-ping-reply"]) > 1000 or len(peers) != len(ips) - 1:
            return False
        if any(p["flags"] != "sentinel" or int(p["last-ok-ping-reply"]) > 1000 for p in peers):
            return False
    return True


def test_this_module_runs_last():
    """The group keeps the new passwords: no later test may rely on the lab inventory's."""
    names = sorted(p.name for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    assert names[-1] == pathlib.Path(__file__).name, names


def test_rotate_every_secret(tmp_path):
    gv = lab.group_vars()
    old = {name: gv[name] for name in NEW}
    ips = lab.node_ips()
    named = {lab.sentinel_master(ip) for ip in ips.values()}
    assert len(named) == 1 and None not in named, named
    master_ip = named.pop().rsplit(":", 1)[0]
    master = next(n for n, ip in ips.items() if ip == master_ip)
    assert lab.vip_holders() == [master]

    watch, new_writer = VipWatch(), NewPasswordWriter(NEW["redis_password"])
    old_writer = drill.Writer("rotation-old", timeout=WRITE_TIMEOUT_S)
    for thread in (watch, old_writer, new_writer):
        thread.start()
    time.sleep(1)
    add = dict(NEW, **{name + "_previous": value for name, value in old.items()})
    t0 = time.monotonic()
    changed = _site(tmp_path, "run1-add", add)
    t_run1 = time.monotonic()
    assert all(changed.values()), changed
    time.sleep(2)  # both writers at once, after run 1
    drill.stop_threads(old_writer)
    t_run2 = time.monotonic()
    changed = _site(tmp_path, "run2-retire", NEW)
    print("MEASURED: phases (s since run 1 started): run 1 ended %.1f, run 2 %.1f-%.1f"
          % (t_run1 - t0, t_run2 - t0, time.monotonic() - t0))
    assert all(changed.values()), changed
    changed = _site(tmp_path, "run3-rerun", NEW)
    assert changed == {n: 0 for n in ips}, changed
    new_results = new_writer.halt()
    drill.stop_threads(watch)

    # Writers: no failed write on either; one master (run_id) answered all of them; the VIP never moved.
    print("MEASURED: writer on the old password %d writes, %d failed; on the new one %d writes (from %.1f s before "
          "the end of run 1), %d failed" % (len(old_writer.results), len(_failed(old_writer.results)),
                                            len(new_results), t_run1 - (new_writer.accepted_at or t_run1),
                                            len(_failed(new_results))))
    vip_changes = [(round(t - t0, 2), holders) for t, holders in watch.changes]
    print("MEASURED: failed writes (s since run 1 started, error): old password %s, new password %s; VIP holders "
          "%s" % (_when(old_writer.results, t0), _when(new_results, t0), vip_changes))
    assert watch.seen == {(master,)}, vip_changes
    assert len(old_writer.results) > 100 and not _failed(old_writer.results), _when(old_writer.results, t0)
    assert new_writer.accepted_at and new_writer.accepted_at < t_run1, "new password not accepted during run 1"
    assert len(new_results) > 100 and not _failed(new_results), _when(new_results, t0)
    assert len({r["run_id"] for r in old_writer.results + new_results if r["ok"]}) == 1
    assert {lab.sentinel_master(ip, password=NEW["redis_ha_sentinel_password"]) for ip in ips.values()} == \
        {"%s:%d" % (master_ip, lab.redis_port())}

    # Every node: the old passwords refused, the new ones accepted, by every Redis user and by Sentinel.
    for node, ip in ips.items():
        for user, var in USERS.items():
            assert not _accepts(ip, lab.redis_port(), user, old[var]), (node, user, "old accepted")
            assert _accepts(ip, lab.redis_port(), user, NEW[var]), (node, user, "new refused")
        assert not _accepts(ip, lab.sentinel_port(), None, old["redis_ha_sentinel_password"]), (node, "sentinel")
        assert _accepts(ip, lab.sentinel_port(), None, NEW["redis_ha_sentinel_password"]), (node, "sentinel")

    # Links that authenticated with the old passwords, cut: they come back with the new ones.
    admin_pw, sentinel_pw = NEW["redis_admin_password"], NEW["redis_ha_sentinel_password"]
    _kill_links(master_ip, ips, admin_pw, sentinel_pw)
    time.sleep(3)  # beyond down-after-milliseconds (2 s): a link that cannot authenticate shows by then
    assert lab.wait_for(lambda: _links_healthy(master_ip, ips, admin_pw, sentinel_pw), RECOVER_S, 0.25), \
        "links not back with the new passwords"
    for ip in ips.values():
        cli = lab.sentinel_client(ip, password=sentinel_pw)
        try:
            reply = cli.execute_command("SENTINEL", "CKQUORUM", lab.master_name())
            assert (reply.decode() if isinstance(reply, bytes) else str(reply)).startswith("OK"), (ip, reply)
        finally:
            cli.close()

    # The check, run once from its configuration (new passwords, fresh connections): only the master promotes.
    verdicts = {node: lab.docker("exec", "-u", "keepalived_script", node, *CHECK, check=False).returncode
                for node in ips}
    assert verdicts == {n: 0 if n == master else 1 for n in ips}, verdicts
    assert lab.vip_holders() == [master]
