"""The watcher mode (`vip_check.py --watch CONFIG`): keeps keepalived's track_file at 0/1 at poll speed,
fails safe on SIGTERM and speaks sd_notify. Real processes (conftest)."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import CHECK_SCRIPT, CHECK_USER, NODE_PYTHON, admin, base_cfg, write_cfg  # noqa: E402


def _start(tmp_path, cluster, env=None, **over):
    track = tmp_path / "track"
    keys = dict(dict(track_file=str(track), poll_ms=50, budget_ms=200), **over)
    cfg = write_cfg(tmp_path / "watch.conf", **base_cfg(cluster, **keys))
    proc = subprocess.Popen([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)],
                            stderr=subprocess.PIPE, text=True, env=env)
    return proc, track


def _wait_content(track, want, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if track.read_bytes() == want:
                return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def _notify_socket(tmp_path):
    """A datagram socket standing in for systemd's NOTIFY_SOCKET, and the environment that names it."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    return sock, dict(os.environ, NOTIFY_SOCKET=path)


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def test_master_gets_0_and_sigterm_writes_1(tmp_path, cluster):
    proc, track = _start(tmp_path, cluster)
    try:
        assert _wait_content(track, b"0\n", 5), proc.stderr.read() if proc.poll() is not None else "no 0 written"
    finally:
        rc = _stop(proc)
    assert rc == 0  # a clean stop for systemd
    assert track.read_bytes() == b"1\n"


def test_replica_gets_1(tmp_path, cluster):
    proc, track = _start(tmp_path, cluster, redis_port=cluster.replica.port, announce_port=cluster.replica.port)
    try:
        assert _wait_content(track, b"1\n", 5)
        time.sleep(0.3)
        assert track.read_bytes() == b"1\n"
    finally:
        _stop(proc)


def test_a_change_reaches_the_file_within_a_few_polls(tmp_path, cluster):
    proc, track = _start(tmp_path, cluster)
    try:
        assert _wait_content(track, b"0\n", 5)
        admin(cluster.master.port, "ACL", "SETUSER", CHECK_USER, "-role")
        t0 = time.monotonic()
        assert _wait_content(track, b"1\n", 3)
        assert time.monotonic() - t0 < 1.0
        admin(cluster.master.port, "ACL", "SETUSER", CHECK_USER, "+role")
        assert _wait_content(track, b"0\n", 3)
    finally:
        admin(cluster.master.port, "ACL", "SETUSER", CHECK_USER, "+role")
        _stop(proc)


def test_a_file_overwritten_by_someone_else_is_put_right(tmp_path, cluster):
    proc, track = _start(tmp_path, cluster)
    try:
        assert _wait_content(track, b"0\n", 5)
        track.write_bytes(b"1\n")  # e.g. keepalived's init_file
        assert _wait_content(track, b"0\n", 2)
    finally:
        _stop(proc)


def test_sd_notify_ready_and_watchdog(tmp_path, cluster):
    sock, env = _notify_socket(tmp_path)
    proc, _track = _start(tmp_path, cluster, env=env)
    try:
        got = [sock.recv(256).decode() for _ in range(3)]
    finally:
        _stop(proc)
        sock.close()
    assert got[0] == "READY=1"
    assert "WATCHDOG=1" in got[1:]


def test_watch_without_track_file_is_a_config_error(tmp_path, cluster):
    cfg = write_cfg(tmp_path / "bad.conf", **base_cfg(cluster))
    res = subprocess.run([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)], capture_output=True,
                         text=True, timeout=10, check=False)
    assert res.returncode == 2
    assert "track_file" in res.stderr


def test_a_changed_config_file_is_taken_without_a_restart(tmp_path, cluster):
    """The roles rotate the check's passwords by replacing its config file: the running watcher takes it at the
    next poll (a restart would write 1 and drop the VIP for a moment); a broken file keeps the running settings."""
    proc, track = _start(tmp_path, cluster, redis_password="not-the-check-password")
    try:
        assert _wait_content(track, b"1\n", 5)
        good = write_cfg(tmp_path / "good.conf", **base_cfg(cluster, track_file=str(track), poll_ms=50,
                                                             budget_ms=200))
        os.replace(good, tmp_path / "watch.conf")
        assert _wait_content(track, b"0\n", 3)
        (tmp_path / "broken.conf").write_text("agreement=some\n")
        os.replace(tmp_path / "broken.conf", tmp_path / "watch.conf")
        time.sleep(0.5)
        assert track.read_bytes() == b"0\n" and proc.poll() is None
    finally:
        rc = _stop(proc)
    assert rc == 0
    assert "not reloaded" in proc.stderr.read()


def test_sighup_runs_the_watcher_again_in_place_keeping_its_verdict(tmp_path, cluster):
    """The unit's reload (the keepalived role's handler for new code of the check): the same process runs the
    installed code again (sd_notify RELOADING=1 then READY=1), and the master's track_file never leaves 0 meanwhile,
    so a new release of the check does not drop the VIP."""
    sock, env = _notify_socket(tmp_path)
    proc, track = _start(tmp_path, cluster, env=env)
    try:
        assert _wait_content(track, b"0\n", 5)
        assert sock.recv(256).decode() == "READY=1"
        proc.send_signal(signal.SIGHUP)
        seen, end = set(), time.monotonic() + 2.0
        while time.monotonic() < end:
            seen.add(track.read_bytes())
            time.sleep(0.002)
        messages = []
        while "READY=1" not in messages:
            messages.append(sock.recv(256).decode())
        assert proc.poll() is None, proc.stderr.read()
        assert seen == {b"0\n"}, seen
        assert "RELOADING=1" in messages, messages
    finally:
        rc = _stop(proc)
        sock.close()
    assert rc == 0
    assert track.read_bytes() == b"1\n"
    assert "running again" in proc.stderr.read()
