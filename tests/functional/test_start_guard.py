"""The redis role's start-up guard (roles/redis/files/redis_start_guard.py) against REAL redis-server and
redis-sentinel processes: a master whose data set would be older than its replicas' is held back, a node
that the Sentinels' majority no longer names starts as a replica, everything else starts at once."""

import importlib.util
import pathlib
import sys
import time

import pytest

from vipcheck_helpers import (  # noqa: E402 - conftest puts tests/unit on sys.path
    ADMIN_PW, CHECK_PW, CHECK_USER, SENTINEL_PW, admin, free_port, start_redis,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
_spec = importlib.util.spec_from_file_location("redis_start_guard", ROOT / "roles" / "redis" / "files" /
                                               "redis_start_guard.py")
guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guard)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A master with one replica holding 10 keys: the replica of "me"."""
    base = tmp_path_factory.mktemp("guard")
    master = start_redis(base / "m")
    replica = start_redis(base / "r", ["replicaof 127.0.0.1 %d" % master.port, "masterauth %s" % ADMIN_PW])
    for i in range(10):
        admin(master.port, "SET", "k%d" % i, "v")
    end = time.monotonic() + 10
    while admin(replica.port, "DBSIZE") != 10:
        assert time.monotonic() < end, "replica did not sync"
        time.sleep(0.05)
    yield master, replica
    replica.terminate()
    master.terminate()


def redis_conf(path, aof=True, manifest=True, replicaof=None):
    data = path / "data"
    (data / "appendonlydir").mkdir(parents=True, exist_ok=True)
    man = data / "appendonlydir" / "appendonly.aof.manifest"
    if manifest:
        man.write_text("file appendonly.aof.1.base.rdb seq 1 type b\n")
    elif man.exists():
        man.unlink()
    lines = ['dir "%s"' % data, "appendonly %s" % ("yes" if aof else "no"),
             'masterauth "we\\"ird #$ pw"']
    if replicaof:
        lines.append("replicaof %s" % replicaof)
    conf = path / "redis.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def guard_conf(path, me_port, peers, mode="auto", sentinels=(), timeout_s=0.6):
    conf = path / "guard.conf"
    conf.write_text("\n".join([
        "# test", "mode=%s" % mode, "announce_host=127.0.0.1", "announce_port=%d" % me_port,
        "peers=%s" % " ".join("127.0.0.1:%d" % p for p in peers), "redis_user=%s" % CHECK_USER,
        "redis_password=%s" % CHECK_PW, "sentinels=%s" % " ".join("127.0.0.1:%d" % p for p in sentinels),
        "sentinel_password=%s" % SENTINEL_PW, "master_name=mymaster", "timeout_s=%s" % timeout_s,
        "env_file=%s" % (path / "start.env")]) + "\n")
    return conf


def run(tmp_path, rconf, gconf):
    t = time.monotonic()
    rc = guard.main(["guard", str(rconf), str(gconf)])
    return rc, (tmp_path / "start.env").read_text().strip(), time.monotonic() - t


def test_master_with_its_append_only_file_starts_at_once(tmp_path, pair):
    master, replica = pair
    rc, env, took = run(tmp_path, redis_conf(tmp_path), guard_conf(tmp_path, master.port, [replica.port]))
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=")
    assert took < 0.5


@pytest.mark.parametrize("aof,manifest,mode", [(True, False, "auto"), (False, False, "auto"),
                                               (True, True, "always")],
                         ids=["data-files-missing", "persistence-off", "mode-always"])
def test_master_behind_its_replicas_is_held_back(tmp_path, pair, capsys, aof, manifest, mode):
    master, replica = pair
    rc, env, took = run(tmp_path, redis_conf(tmp_path, aof=aof, manifest=manifest),
                        guard_conf(tmp_path, master.port, [replica.port], mode=mode, timeout_s=0.6))
    assert rc == 1 and env == "REDIS_HA_START_ARGS="
    assert 0.6 <= took < 2.0
    err = capsys.readouterr().err
    assert "127.0.0.1:%d (10 keys)" % replica.port in err and "not starting" in err
    assert "pw" not in err and CHECK_PW not in err


def test_empty_master_starts_when_no_replica_of_it_holds_keys(tmp_path, pair):
    master, replica = pair
    # "me" is another port: the replica follows someone else
    rc, env, _took = run(tmp_path, redis_conf(tmp_path, manifest=False),
                         guard_conf(tmp_path, free_port(), [replica.port, free_port()]))
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=")


def test_replica_config_starts_at_once(tmp_path, pair):
    master, replica = pair
    rc, env, _took = run(tmp_path, redis_conf(tmp_path, manifest=False, replicaof="127.0.0.1 %d" % master.port),
                         guard_conf(tmp_path, master.port, [replica.port]))
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=")


def test_mode_off_starts_at_once(tmp_path, pair):
    master, replica = pair
    rc, env, _took = run(tmp_path, redis_conf(tmp_path, manifest=False),
                         guard_conf(tmp_path, master.port, [replica.port], mode="off"))
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=")


def test_node_the_sentinels_no_longer_name_starts_as_replica_of_their_master(tmp_path, cluster, pair):
    _master, replica = pair
    sentinels = [s.port for s in cluster.sentinels]
    # the Sentinels name cluster.master; "me" (an empty node) is someone else: start as its replica
    rc, env, _took = run(tmp_path, redis_conf(tmp_path, manifest=False),
                         guard_conf(tmp_path, free_port(), [replica.port], sentinels=sentinels))
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=--replicaof 127.0.0.1 %d" % cluster.master.port)


def test_master_the_sentinels_still_name_is_held_while_behind(tmp_path, cluster):
    """The Sentinels' majority names "me" (cluster.master's address) and its replica holds keys."""
    admin(cluster.master.port, "SET", "guard-test", "1")
    end = time.monotonic() + 10
    while admin(cluster.replica.port, "EXISTS", "guard-test") != 1:
        assert time.monotonic() < end
        time.sleep(0.05)
    try:
        rc, env, _took = run(tmp_path, redis_conf(tmp_path, manifest=False),
                             guard_conf(tmp_path, cluster.master.port, [cluster.replica.port],
                                        sentinels=[s.port for s in cluster.sentinels]))
    finally:
        admin(cluster.master.port, "DEL", "guard-test")
    assert (rc, env) == (1, "REDIS_HA_START_ARGS=")


def test_check_mode_validates_the_guard_config(tmp_path):
    good = guard_conf(tmp_path, 6379, [6380])
    assert guard.main(["guard", "--check", str(good)]) == 0
    bad = tmp_path / "bad.conf"
    bad.write_text("mode=sometimes\n")
    assert guard.main(["guard", "--check", str(bad)]) == 2
    bad.write_text("unknown_key=1\n")
    assert guard.main(["guard", "--check", str(bad)]) == 2


def test_silent_nodes_cost_one_timeout_not_one_each(tmp_path):
    """Sentinels and peers that accept the connection and never answer (a frozen or cut-off node): the guard
    asks all of them at once, so a look at the group costs one QUERY_TIMEOUT_S, not one per node."""
    import socket
    silent = []
    try:
        for _ in range(5):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            silent.append(s)
        ports = [s.getsockname()[1] for s in silent]
        rc, env, took = run(tmp_path, redis_conf(tmp_path, manifest=False),
                            guard_conf(tmp_path, free_port(), ports[:2], sentinels=ports[2:]))
    finally:
        for s in silent:
            s.close()
    assert (rc, env) == (0, "REDIS_HA_START_ARGS=")  # nobody answered: no replica of it is known to hold keys
    assert guard.QUERY_TIMEOUT_S <= took < 2 * guard.QUERY_TIMEOUT_S
