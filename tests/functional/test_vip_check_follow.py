"""The watcher's follower (issue 24, follow.py): a replica re-points itself at the node the failover leader promoted
as soon as the leader announced it (+failover-state-wait-promotion) and that node answers ROLE master, before the
leader's own reconfiguration; and nothing in every other case. Real redis-server / redis-sentinel processes.

To hold the leader between its REPLICAOF NO ONE and its reconfiguration of the other replicas, the Sentinels log in
to the promoted node X as an ACL user "sentinel" without INFO: the leader promotes X but cannot see it, so it stays in
wait_promotion (as it does, for up to a second, between two INFO polls in a real failover). Giving INFO back lets it
finish: its SLAVEOF to the replica that followed must then be a no-op.
"""

import pathlib
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_vip_check_failover import (  # noqa: E402
    NAME, _fields, _sentinel, _set_sentinel_rights, _wait, _wait_linked, start_sentinels,
)
from vipcheck_helpers import (  # noqa: E402
    ADMIN_PW, CHECK_PW, CHECK_SCRIPT, CHECK_USER, NODE_PYTHON, admin, base_cfg, start_redis, vc, write_cfg,
)

from _vipcheck import follow  # noqa: E402  (vipcheck_helpers put the package's parent on sys.path)

NOOP_LOG = "No operation performed"  # Redis' log line for a REPLICAOF to the master it already replicates from


def _replica(tmp_path, name, master, *extra):
    node = start_redis(tmp_path / name, ["masterauth %s" % ADMIN_PW] + list(extra))
    admin(node.port, "ACL", "SETUSER", CHECK_USER, "+replicaof")  # as the redis role grants it
    _set_sentinel_rights(node.port, "+@all")
    if master is not None:
        admin(node.port, "REPLICAOF", "127.0.0.1", str(master.port))
        _wait("%s to sync" % name, lambda: admin(node.port, "ROLE")[3] == b"connected", timeout=20)
    return node


def _start(tmp_path, procs, *specs):
    """Nodes from (name, name of its master or None, extra config lines...) in order; each added to procs."""
    started = {}
    for name, master, *extra in specs:
        started[name] = _replica(tmp_path, name, started.get(master), *extra)
        procs.append(started[name])
    return [started[spec[0]] for spec in specs]


def _master_of(node):
    role = admin(node.port, "ROLE")
    return role[2] if role[0] == b"slave" else None


@pytest.fixture
def group(tmp_path):
    """Master M; replica X (the one the leader will promote) and replica Y (priority 0: never chosen, the one that
    follows); three Sentinels that never fail over on their own (down-after 10 min)."""
    procs = []
    try:
        m, x, y = _start(tmp_path, procs, ("m", None), ("x", "m"), ("y", "m", "replica-priority 0"))
        sentinels = start_sentinels(tmp_path, m, procs)
        _wait("the Sentinels to know both replicas", lambda: all(
            len([r for r in _sentinel(s.port, "SENTINEL", "REPLICAS", NAME)
                 if _fields(r).get("master-link-status") == "ok"]) == 2 for s in sentinels))
        yield m, x, y, sentinels
    finally:
        for p in procs:
            p.terminate()


def _watch(tmp_path, m, y, sentinels, switch):
    cluster = type("C", (), {"master": m, "sentinels": sentinels})
    keys = base_cfg(cluster, node=y, track_file=str(tmp_path / "track-y"), poll_ms=100, follow_promotion=switch)
    cfg = write_cfg(tmp_path / "watch-y.conf", **keys)
    proc = subprocess.Popen([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)],
                            stderr=subprocess.PIPE, text=True)
    _wait("Y's first verdict", lambda: (tmp_path / "track-y").exists(), timeout=10)
    time.sleep(1.0)  # the subscriptions are set up right after the first evaluation
    return proc


def _stop(proc):
    proc.terminate()
    return proc.communicate(timeout=10)[1]


def _state(leader):
    return _fields(_sentinel(leader.port, "SENTINEL", "MASTER", NAME)).get("failover-state")


@pytest.mark.parametrize("switch", ["yes", "no"])
def test_replica_follows_the_leaders_promotion_before_its_reconfiguration(group, tmp_path, switch):
    m, x, y, sentinels = group
    leader = sentinels[0]
    watcher = _watch(tmp_path, m, y, sentinels, switch)
    try:
        _set_sentinel_rights(x.port, "-info")  # the leader will not see X's promotion
        _wait_linked(sentinels, x)
        assert _sentinel(leader.port, "SENTINEL", "FAILOVER", NAME) == b"OK"
        _wait("X promoted", lambda: admin(x.port, "ROLE")[0] == b"master")
        if switch == "no":
            time.sleep(1.5)
            assert _master_of(y) == m.port and _state(leader) == "wait_promotion"
        else:
            _follows_before_reconfiguration(x, y, leader)
    finally:
        _set_sentinel_rights(x.port, "+info")
        err = _stop(watcher)
    assert ("following the failover leader's promotion" in err) is (switch == "yes"), err


def _follows_before_reconfiguration(x, y, leader):
    # Y replicates from X while the leader still waits for X's promotion: Y's watcher did it, not Sentinel.
    _wait("Y to follow X", lambda: _master_of(y) == x.port, timeout=3)
    assert _state(leader) == "wait_promotion"
    _wait("Y linked to X", lambda: admin(y.port, "ROLE")[3] == b"connected", timeout=10)
    admin(x.port, "SET", "after-follow", "1")
    _wait("the write to reach Y", lambda: admin(y.port, "GET", "after-follow") == b"1", timeout=5)
    # INFO back: the leader finishes; its SLAVEOF to Y is a no-op (no second sync).
    _set_sentinel_rights(x.port, "+info")
    _wait("the failover to end", lambda: "failover_in_progress" not in _fields(
        _sentinel(leader.port, "SENTINEL", "MASTER", NAME))["flags"], timeout=30)
    _wait("Sentinel's SLAVEOF to Y", lambda: NOOP_LOG in y.tail(), timeout=10)
    assert _master_of(y) == x.port
    assert y.log.read_text().count("Connecting to MASTER 127.0.0.1:%d" % x.port) == 1


def _follower(local, **over):
    settings = dict(redis_host="127.0.0.1", redis_port=local.port, redis_user=CHECK_USER, redis_password=CHECK_PW,
                    announce_host="127.0.0.1", announce_port=local.port, master_name=NAME, tls=None)
    settings.update(over)
    return follow.Follow(settings)


def _announce(promoted, old, name=NAME):
    text = "slave 127.0.0.1:%d 127.0.0.1 %d @ %s 127.0.0.1 %d" % (promoted.port, promoted.port, name, old.port)
    return [(follow.EVENT, text)]


@pytest.fixture
def nodes(tmp_path):
    """Master M with replicas Y and Z, and a standalone master S: no Sentinels (the events are given directly)."""
    procs = []
    try:
        m, s, y, z = _start(tmp_path, procs, ("m", None), ("s", None), ("y", "m"), ("z", "m"))
        yield m, s, y, z
    finally:
        for p in procs:
            p.terminate()


def test_follows_an_announced_master(nodes):
    m, s, y, _z = nodes
    f = _follower(y)
    f.heard([("+switch-master", "x")] + _announce(s, m))
    f.step(vc.Pool())
    assert _master_of(y) == s.port and f.pending is None and f.total == 1


def test_no_replicaof_when_the_announcement_does_not_fit(nodes, monkeypatch):
    m, s, y, z = nodes
    monkeypatch.setattr(follow, "WINDOW_S", 0.3)
    pool = vc.Pool()
    cases = (
        (_follower(y), _announce(s, m, name="othermaster")),       # another master name
        (_follower(y), _announce(z, m)),                            # the node is no master (Z is a replica)
        (_follower(y), _announce(s, z)),                            # Y does not replicate from the old master
        (_follower(y, announce_port=s.port), _announce(s, m)),      # this node is the one promoted
        (_follower(m), _announce(s, y)),                            # the local node is a master
    )
    for f, event in cases:
        f.heard(event)
        end = time.monotonic() + 2
        while f.pending is not None and time.monotonic() < end:
            f.step(pool)
        assert f.pending is None and f.total == 0, event
    assert _master_of(y) == m.port and _master_of(z) == m.port and _master_of(m) is None


def test_parse_announcement():
    assert follow.parse_announcement("slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6380") == (
        "10.0.0.2", 6379, "mymaster", "10.0.0.1", 6380)
    for bad in ("master mymaster 10.0.0.1 6379", "slave a b c @ d e f g", "slave a 10.0.0.2 x @ m 10.0.0.1 1"):
        assert follow.parse_announcement(bad) is None
