"""The check over TLS, against REAL TLS-only redis-server and redis-sentinel processes (tls_helpers):
the same verdicts as in plaintext, client certificates, failing closed, and the watcher keeping its TLS
connections open between polls."""

import os
import pathlib
import signal
import subprocess
import time

import pytest

from tls_helpers import (call, client_tls, make_pki, start_tls_redis, start_tls_sentinels, tls_cfg,
                         wait_tls_cluster)
from vipcheck_helpers import (ADMIN_PW, CHECK_SCRIPT, NODE_PYTHON, SENTINEL_PW, Cluster, base_cfg,
                              run_check, vc, write_cfg)


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls-cluster")
    c = Cluster()
    c.pki = make_pki(base / "pki")
    procs = []
    try:
        c.master = start_tls_redis(c.pki, base / "m")
        procs.append(c.master)
        c.replica = start_tls_redis(c.pki, base / "r", ["replicaof 127.0.0.1 %d" % c.master.port,
                                                        "masterauth %s" % ADMIN_PW])
        procs.append(c.replica)
        c.sentinels = start_tls_sentinels(c.pki, base, c.master, 3)
        procs.extend(c.sentinels)
        wait_tls_cluster(c.pki, c.master, c.replica, c.sentinels)
        yield c
    finally:
        for p in procs:
            p.terminate()


def _settings(cfg_keys):
    return vc.build_settings({k: str(v) for k, v in cfg_keys.items() if v is not None})


@pytest.mark.parametrize("node", ["master", "replica"])
def test_verdict_over_tls_equals_plaintext(tmp_path, cluster, tls_cluster, node):
    plain = vc.evaluate(_settings(base_cfg(cluster, node=getattr(cluster, node))), complete=True)
    tls = vc.evaluate(_settings(base_cfg(tls_cluster, node=getattr(tls_cluster, node), **tls_cfg(tls_cluster.pki))),
                      complete=True)
    assert tls["verdict"] == plain["verdict"] == ("promote" if node == "master" else "demote"), tls["reason"]
    assert tls["answered"] == plain["answered"] == 3, (tls["reason"], plain["reason"])
    assert [s["status"] for s in tls["sentinels"]] == [s["status"] for s in plain["sentinels"]]
    # The track script as keepalived runs it.
    state = tmp_path / "state"
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(tls_cluster, node=getattr(tls_cluster, node), state_file=state,
                                                    **tls_cfg(tls_cluster.pki)))
    rc, _, err = run_check(cfg)
    assert rc == (0 if node == "master" else 1), (err, state.read_text())


def test_without_a_client_certificate_fails_closed(tmp_path, tls_cluster):
    """tls-auth-clients yes: the servers refuse a check that presents no certificate."""
    res = vc.evaluate(_settings(base_cfg(tls_cluster, **tls_cfg(tls_cluster.pki, client_cert=False))),
                      complete=True)
    assert not res["promote"] and res["redis"]["status"] == "unreachable", res["reason"]
    assert all(s["status"] == "unreachable" for s in res["sentinels"]), res["reason"]
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(tls_cluster, **tls_cfg(tls_cluster.pki, client_cert=False)))
    assert run_check(cfg)[0] == 1


def test_plaintext_to_a_tls_only_server_fails_closed(tmp_path, tls_cluster):
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(tls_cluster))
    rc, seconds, err = run_check(cfg)
    assert rc == 1, err
    assert seconds < 5
    res = vc.evaluate(_settings(base_cfg(tls_cluster)), complete=True)
    assert not res["promote"] and res["redis"]["status"] == "unreachable", res["reason"]


def test_unloadable_certificate_is_a_config_error(tmp_path, tls_cluster):
    keys = dict(base_cfg(tls_cluster, **tls_cfg(tls_cluster.pki)), tls_ca_file=str(tmp_path / "missing.crt"))
    rc, _, err = run_check(write_cfg(tmp_path / "c.conf", **keys))
    assert rc == 2 and "TLS" in err, err


def test_watcher_keeps_its_tls_connections(tmp_path, tls_cluster):
    """Over about 40 polls the watcher opens one connection to the Redis and two to each Sentinel (the
    pooled one and the event subscription), not one per poll: no TLS handshake every poll. (The bound leaves
    room for a few reconnections on a loaded machine: a subscription whose handshake takes over 1 s.)"""
    def connections(proc, password):
        info = call(tls_cluster.pki, proc.port, "INFO", "stats", password=password).decode()
        return int(info.split("total_connections_received:")[1].split()[0])

    procs = [(tls_cluster.master, ADMIN_PW)] + [(s, SENTINEL_PW) for s in tls_cluster.sentinels]
    before = [connections(p, pw) for p, pw in procs]
    track = tmp_path / "track"
    cfg = write_cfg(tmp_path / "w.conf", **base_cfg(tls_cluster, track_file=str(track), poll_ms=50,
                                                    **tls_cfg(tls_cluster.pki)))
    proc = subprocess.Popen([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)],
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)
        assert track.read_bytes() == b"0\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    opened = [connections(p, pw) - b - 1 for (p, pw), b in zip(procs, before)]  # - 1: our INFO
    assert all(n <= 8 for n in opened), opened


def test_pooled_connections_survive_abandoned_answers_and_kills(tls_cluster):
    """The watcher's pool: answers not awaited (verdict already certain) are skipped on the next use of the
    connection, and connections the servers closed are replaced within the same evaluation."""
    settings = _settings(base_cfg(tls_cluster, **tls_cfg(tls_cluster.pki)))
    pool = vc.Pool()
    try:
        for i in range(12):
            if i == 6:
                call(tls_cluster.pki, tls_cluster.master.port, "CLIENT", "KILL", "USER", "vipcheck")
                for s in tls_cluster.sentinels:
                    call(tls_cluster.pki, s.port, "CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal",
                         password=SENTINEL_PW)
            res = vc.evaluate(settings, pool=pool)
            assert res["promote"], (i, res["reason"])
            assert all(s["status"] in ("agree", "not_checked") for s in res["sentinels"]), (i, res["reason"])
        assert len(pool.idle) == 4
    finally:
        pool.close()


def _replace(path, source, stamp):
    """New content at the same path (as a rotation writes it), with a later modification time."""
    path.write_bytes(pathlib.Path(source).read_bytes())
    os.utime(path, ns=(stamp, stamp))


def test_rotated_client_certificate_is_loaded_again_and_a_half_done_rotation_keeps_the_last(tmp_path, tls_cluster):
    """The watcher keeps its TLS context for its whole life: a certificate and key rotated at the same paths
    (the keepalived role's copy) are loaded at the next use, and a certificate and key that do not match yet
    (one file written, not the other) keep the pair loaded last instead of failing the check."""
    pki = tls_cluster.pki
    cert, key = tmp_path / "check.crt", tmp_path / "check.key"
    _replace(cert, pki["client_cert"], 10 ** 18)
    _replace(key, pki["client_key"], 10 ** 18)
    first = client_tls(pki, cert, key)
    assert client_tls(pki, cert, key) is first  # unchanged files: the same context
    _replace(cert, pki["server_cert"], 2 * 10 ** 18)  # half done: the key is still the old pair's
    assert client_tls(pki, cert, key) is first
    _replace(key, pki["server_key"], 2 * 10 ** 18)  # done: the other certificate of the same CA
    second = client_tls(pki, cert, key)
    assert second is not first
    reply = vc.redis_pipeline("127.0.0.1", tls_cluster.master.port, [["PING"]], password=ADMIN_PW, timeout=5,
                              tls=second)[0]
    assert reply == b"PONG"
    mismatched = tmp_path / "other.key"  # never loaded before: a mismatch is the configuration error it is
    _replace(mismatched, pki["client_key"], 10 ** 18)
    with pytest.raises(vc.ConfigError):
        client_tls(pki, cert, mismatched)
