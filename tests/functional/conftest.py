"""pytest fixtures of the tests against REAL processes (redis-server / redis-sentinel on loopback, ansible-playbook); see vipcheck_helpers."""

import pathlib
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# role_templates (the roles' templates rendered as Ansible does) is shared with the pure unit tests
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1] / "unit"))
# the working tree as ansible_collections.redis_ha.sentinel_vip, for the plugins loaded from their files that import
# the collection's plugin_utils (status_report: the one VIP parser): a link in a directory of this session
_TREE = pathlib.Path(tempfile.mkdtemp(prefix="redis-ha-tree-"))
(_TREE / "ansible_collections" / "redis_ha").mkdir(parents=True)
(_TREE / "ansible_collections" / "redis_ha" / "sentinel_vip").symlink_to(pathlib.Path(__file__).resolve().parents[2])
sys.path.append(str(_TREE))

from vipcheck_helpers import (  # noqa: E402
    ADMIN_PW, SENTINEL_PW, SENTINEL_SPECIAL_USER, SPECIAL_PW, Cluster, Proc, admin, free_port,
    have_ipv6_loopback, start_redis, vc,
)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("redis-cluster")
    procs = []
    c = Cluster()
    c.ipv6 = have_ipv6_loopback()
    try:
        c.master = start_redis(base / "m")
        procs.append(c.master)
        c.replica = start_redis(base / "r", ["replicaof 127.0.0.1 %d" % c.master.port,
                                             "masterauth %s" % ADMIN_PW])
        procs.append(c.replica)
        c.stale = start_redis(base / "s")
        procs.append(c.stale)
        c.open = start_redis(base / "o", requirepass=False)
        procs.append(c.open)
        names = [("mymaster", "127.0.0.1", c.master), ("hostmaster", "LocalHost", c.master),
                 ("openmaster", "127.0.0.1", c.open)]
        if c.ipv6:
            names.append(("v6master", "0:0::1", c.master))
        c.sentinels = []
        for i in range(3):
            port = free_port()
            lines = ["requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
                     "sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"]
            for name, host, node in names:
                lines += ["sentinel monitor %s %s %d 2" % (name, host, node.port),
                          "sentinel auth-pass %s %s" % (name, ADMIN_PW),
                          "sentinel down-after-milliseconds %s 600000" % name,
                          "sentinel failover-timeout %s 600000" % name]
            s = Proc("sentinel", port, base / ("sentinel%d" % i), lines)
            procs.append(s)
            c.sentinels.append(s)
        for s in c.sentinels:
            s.wait_ready(SENTINEL_PW)
            vc.redis_call("127.0.0.1", s.port, ["ACL", "SETUSER", SENTINEL_SPECIAL_USER, "reset", "on",
                                                ">" + SPECIAL_PW, "+@all"], password=SENTINEL_PW)
        # Wait until the replica is attached and every Sentinel names M for every name.
        end = time.monotonic() + 15
        while True:
            role = admin(c.replica.port, "ROLE")
            ok = role[0] == b"slave" and role[3] == b"connected"
            ok = ok and len(admin(c.master.port, "ROLE")[2]) == 1  # the master lists it as online
            for s in c.sentinels:
                for name, host, node in names:
                    try:
                        addr = vc.redis_call("127.0.0.1", s.port, ["SENTINEL", "get-master-addr-by-name", name],
                                             password=SENTINEL_PW)
                    except (OSError, vc.RespError):
                        addr = None
                    ok = ok and addr is not None and int(addr[1]) == node.port
            if ok:
                break
            if time.monotonic() > end:
                raise RuntimeError("cluster not ready: replica role %r" % (role,))
            time.sleep(0.05)
        c.dead_port = free_port()  # nothing listens there: connection refused
        yield c
    finally:
        for p in procs:
            p.terminate()


@pytest.fixture
def lone_redis(tmp_path):
    """A throw-away standalone master for destructive tests (SIGSTOP, BUSY)."""
    proc = start_redis(tmp_path / "lone", ["busy-reply-threshold 100"])
    try:
        yield proc
    finally:
        proc.terminate()
