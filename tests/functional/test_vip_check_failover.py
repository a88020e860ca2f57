"""The verdict DURING a Sentinel failover, with real redis-server / redis-sentinel processes.

A Sentinel that is failing over the master (state send_slaveof_noone and later) deposes the old master
at once, and the replica it promoted may take the VIP as soon as it reports role:master, before the
leader's next INFO (up to a second later) makes the majority name it.

To hold the failover in exactly those states, the Sentinels log in to Redis as an ACL user
"sentinel" whose rights the test takes away at the right moments: without REPLICAOF the leader's
SLAVEOF NO ONE fails (the leader still moves to wait_promotion and waits there), and without INFO the
leader cannot see the promotion the test then performs itself. Giving the rights back lets the leader
finish the failover normally.
"""

import signal
import subprocess
import threading
import time

import pytest

from vipcheck_helpers import (
    ADMIN_PW, CHECK_SCRIPT, NODE_PYTHON, SENTINEL_PW, Proc, admin, base_cfg, free_port, start_redis, vc, write_cfg,
)

SENTINEL_USER_PW = "sentinel-user-pw"
NAME = "mymaster"


def _sentinel(port, *args):
    return vc.redis_call("127.0.0.1", port, list(args), password=SENTINEL_PW, timeout=2)


def _fields(reply):
    return {k.decode(): v.decode() if isinstance(v, bytes) else v for k, v in zip(reply[0::2], reply[1::2])}


def _wait(what, predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def _set_sentinel_rights(port, *rules):
    """Change the Sentinels' ACL user (Redis 7 then disconnects its clients: the Sentinels reconnect)."""
    admin(port, "ACL", "SETUSER", "sentinel", "on", ">" + SENTINEL_USER_PW, "allchannels", *rules)


def _wait_linked(sentinels, replica):
    """Until every Sentinel has its links to the replica up again."""
    def linked():
        for s in sentinels:
            reps = [_fields(r) for r in _sentinel(s.port, "SENTINEL", "REPLICAS", NAME)]
            if not any(r["port"] == str(replica.port) and "disconnected" not in r["flags"] for r in reps):
                return False
        return True
    _wait("the Sentinels to reconnect to the replica", linked)


def start_sentinels(tmp_path, m, procs):
    """Three Sentinels monitoring M as NAME that never fail over on their own (down-after 10 min); added to procs."""
    sentinels = []
    for i in range(3):
        s = Proc("sentinel", free_port(), tmp_path / ("s%d" % i), [
            "requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
            "sentinel monitor %s 127.0.0.1 %d 2" % (NAME, m.port),
            "sentinel auth-user %s sentinel" % NAME, "sentinel auth-pass %s %s" % (NAME, SENTINEL_USER_PW),
            "sentinel down-after-milliseconds %s 600000" % NAME,
            "sentinel failover-timeout %s 60000" % NAME])
        procs.append(s)
        sentinels.append(s)
    for s in sentinels:
        s.wait_ready(SENTINEL_PW)
    return sentinels


@pytest.fixture
def group(tmp_path):
    """Master M, replica X and three Sentinels that never fail over on their own (down-after 10 min)."""
    procs = []
    try:
        m = start_redis(tmp_path / "m")
        procs.append(m)
        x = start_redis(tmp_path / "x", ["masterauth %s" % ADMIN_PW])
        procs.append(x)
        for node in (m, x):
            _set_sentinel_rights(node.port, "+@all")
        admin(x.port, "REPLICAOF", "127.0.0.1", str(m.port))
        sentinels = start_sentinels(tmp_path, m, procs)

        def ready():
            for s in sentinels:
                reps = _sentinel(s.port, "SENTINEL", "REPLICAS", NAME)
                if not any(_fields(r)["port"] == str(x.port) and "s_down" not in _fields(r)["flags"]
                           and _fields(r).get("master-link-status") == "ok" for r in reps):
                    return False
            return True

        _wait("the Sentinels to know the replica", ready)
        _wait_linked(sentinels, x)
        yield m, x, sentinels
    finally:
        for p in procs:
            p.terminate()


def _check(m, x, sentinels, node):
    cluster = type("C", (), {"master": m, "sentinels": sentinels})
    settings = vc.load_settings(overrides=base_cfg(cluster, node=node, budget_ms=2000))
    return vc.evaluate(settings, complete=True)


def test_failover_deposes_old_master_and_promotes_replica_before_majority(group):
    m, x, sentinels = group
    leader = sentinels[0]
    before = _check(m, x, sentinels, m)
    assert before["promote"] and before["deposed_by"] is None and before["promoted_by"] is None

    _set_sentinel_rights(x.port, "-replicaof", "-slaveof")  # SLAVEOF NO ONE from the leader fails
    _wait_linked(sentinels, x)
    assert _sentinel(leader.port, "SENTINEL", "FAILOVER", NAME) == b"OK"
    _wait("wait_promotion", lambda: _fields(_sentinel(leader.port, "SENTINEL", "MASTER", NAME))
          .get("failover-state") == "wait_promotion")

    # The old master is deposed although every Sentinel still names it.
    old = _check(m, x, sentinels, m)
    assert old["agreeing"] == 3
    assert not old["promote"], old["reason"]
    assert old["deposed_by"] == vc.format_hostport("127.0.0.1", leader.port)
    assert "is failing over this master (wait_promotion)" in old["reason"]
    # The chosen replica is still a replica: no VIP for it yet.
    assert not _check(m, x, sentinels, x)["promote"]

    # The promotion happens, but the leader cannot see it (no INFO for its user).
    _set_sentinel_rights(x.port, "-info")
    admin(x.port, "REPLICAOF", "NO", "ONE")
    new = _check(m, x, sentinels, x)
    assert new["redis"]["master"]
    assert new["agreeing"] == 0, new["reason"]  # no Sentinel names it yet ...
    assert new["promote"], new["reason"]        # ... but the leader promoted it: take the VIP now
    assert new["promoted_by"] == vc.format_hostport("127.0.0.1", leader.port)
    assert "promoted 127.0.0.1:%d (wait_promotion)" % x.port in new["reason"]
    assert not _check(m, x, sentinels, m)["promote"]

    # The leader's answer decides without waiting for a Sentinel that does not answer: here one other
    # Sentinel already names X (one that monitors X directly), the third is stopped. The check (track
    # script mode, stops early) must not spend its budget waiting for the stopped one.
    fake = Proc("sentinel", free_port(), m.workdir.parent / "fake", [
        "requirepass %s" % SENTINEL_PW, "sentinel monitor %s 127.0.0.1 %d 2" % (NAME, x.port),
        "sentinel auth-user %s sentinel" % NAME, "sentinel auth-pass %s %s" % (NAME, SENTINEL_USER_PW)])
    try:
        fake.wait_ready(SENTINEL_PW)
        sentinels[2].sigstop()
        three = [leader, fake, sentinels[2]]
        settings = vc.load_settings(overrides=base_cfg(type("C", (), {"master": m, "sentinels": three}),
                                                       node=x, budget_ms=1500))
        res = vc.evaluate(settings)
        assert res["agreeing"] == 1 and res["promote"], res["reason"]
        assert res["promoted_by"] == vc.format_hostport("127.0.0.1", leader.port)
        assert res["elapsed_ms"] < 1000, res["elapsed_ms"]
    finally:
        sentinels[2].sigcont()
        fake.terminate()

    # Rights back: the leader sees the promotion, finishes, and the majority names X.
    _set_sentinel_rights(x.port, "+@all")
    _wait("the majority to name X", lambda: sum(
        int(_sentinel(s.port, "SENTINEL", "get-master-addr-by-name", NAME)[1]) == x.port
        for s in sentinels) >= 2)
    after = _check(m, x, sentinels, x)
    assert after["promote"] and after["agreeing"] >= 2, after["reason"]
    _wait("the failover to end", lambda: "failover_in_progress" not in _fields(
        _sentinel(leader.port, "SENTINEL", "MASTER", NAME))["flags"])
    assert not _check(m, x, sentinels, m)["promote"]
    final = _check(m, x, sentinels, x)
    assert final["promote"] and final["promoted_by"] is None and final["deposed_by"] is None


def test_promoted_replica_that_answers_after_the_sentinels_keeps_its_verdict(group):
    """The local ROLE arriving after every Sentinel's answer (a just-promoted Redis is busy: config rewrite, the
    replicas' resync, the writes) must not end the evaluation early with "fewer Sentinels than required can name
    it" while the leader's answer is in: the drill's VIP flapped that way between promotion and +promoted-slave."""
    m, x, sentinels = group
    leader = sentinels[0]
    _set_sentinel_rights(x.port, "-info")  # the leader promotes X but does not see it: it stays in wait_promotion
    _wait_linked(sentinels, x)
    try:
        assert _sentinel(leader.port, "SENTINEL", "FAILOVER", NAME) == b"OK"
        _wait("X promoted", lambda: admin(x.port, "ROLE")[0] == b"master")
        _wait("wait_promotion", lambda: _fields(_sentinel(leader.port, "SENTINEL", "MASTER", NAME))
              .get("failover-state") == "wait_promotion")
        cluster = type("C", (), {"master": m, "sentinels": sentinels})
        settings = vc.load_settings(overrides=base_cfg(cluster, node=x, budget_ms=2000))
        stalled = 0
        for _ in range(3):
            resumed = []
            x.sigstop()
            timer = threading.Timer(0.3, lambda: (resumed.append(time.monotonic()), x.sigcont()))
            timer.start()
            try:
                started = time.monotonic()
                res = vc.evaluate(settings)  # stops early, as the watcher does
                ended = time.monotonic()
            finally:
                timer.join()
            assert res["redis"]["status"] != "not_checked" and res["promote"], res["reason"]
            # it waited for the stopped Redis: it ended after the resume (by the clock, not by a duration that a
            # loaded machine shortens when this thread starts the evaluation late)
            assert ended >= resumed[0], (started, ended, resumed)
            stalled += started < resumed[0]
        assert stalled, "the evaluation never started while the Redis was stopped"
    finally:
        x.sigcont()
        _set_sentinel_rights(x.port, "+info")


def test_stale_master_is_not_promoted_by_someone_elses_failover(group):
    """A node that is master for its own reasons (not the replica the leader chose) gets no VIP."""
    m, x, sentinels = group
    leader = sentinels[0]
    stale = start_redis(m.workdir.parent / "stale")
    try:
        _set_sentinel_rights(x.port, "-replicaof", "-slaveof")
        _wait_linked(sentinels, x)
        assert _sentinel(leader.port, "SENTINEL", "FAILOVER", NAME) == b"OK"
        _wait("wait_promotion", lambda: _fields(_sentinel(leader.port, "SENTINEL", "MASTER", NAME))
              .get("failover-state") == "wait_promotion")
        res = _check(m, x, sentinels, stale)
        assert res["redis"]["master"]
        assert not res["promote"], res["reason"]
        assert res["promoted_by"] is None
    finally:
        stale.terminate()
        _set_sentinel_rights(x.port, "+@all")


def test_watcher_follows_sentinel_events_not_only_its_poll(group, tmp_path):
    """Watchers polling only once a minute still move the VIP within seconds of a failover: they
    re-evaluate on the Sentinels' events (+failover-state-wait-promotion, +switch-master ...)."""
    m, x, sentinels = group
    cluster = type("C", (), {"master": m, "sentinels": sentinels})
    procs, tracks = [], {}
    try:
        for name, node in (("m", m), ("x", x)):
            track = tmp_path / ("track-" + name)
            cfg = write_cfg(tmp_path / ("watch-%s.conf" % name),
                            **base_cfg(cluster, node=node, track_file=str(track), poll_ms=60000))
            procs.append(subprocess.Popen([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)],
                                          stderr=subprocess.PIPE, text=True))
            tracks[name] = track
        _wait("the first verdicts", lambda: tracks["m"].exists() and tracks["m"].read_bytes() == b"0\n"
              and tracks["x"].exists() and tracks["x"].read_bytes() == b"1\n", timeout=10)
        time.sleep(1.0)  # subscriptions are set up right after the first evaluation
        t0 = time.monotonic()
        assert _sentinel(sentinels[0].port, "SENTINEL", "FAILOVER", NAME) == b"OK"
        _wait("X's watcher to take the VIP", lambda: tracks["x"].read_bytes() == b"0\n", timeout=20)
        _wait("M's watcher to drop it", lambda: tracks["m"].read_bytes() == b"1\n", timeout=20)
        # The next poll would only come a minute after the start: the events did it.
        assert time.monotonic() - t0 < 20
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
