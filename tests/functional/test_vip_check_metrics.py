"""The watcher's metrics textfile (issue 26): written for node_exporter's textfile collector, with the verdict,
its closed-set reason, the Sentinels' counts, the VIPs this host carries and the fence. Real processes (conftest)."""

import pathlib
import re
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_vip_check_watcher import _start, _stop  # noqa: E402

SAMPLE = re.compile(r'^(redis_ha_check_[a-z_]+)\{master_name="mymaster"(?:,([a-z]+)="([^"]*)")?\} (\S+)$')


def _samples(path, timeout=5.0, want=None):
    """{(metric, label value or None): float} from the file, once it exists (and `want` holds)."""
    end = time.monotonic() + timeout
    while True:
        try:
            found = {}
            for line in path.read_text().splitlines():
                if line.startswith("#"):
                    continue
                m = SAMPLE.match(line)
                assert m, "not a sample of the contract: %r" % line
                found[(m.group(1), m.group(3))] = float(m.group(4))
            if want is None or want(found):
                return found
        except FileNotFoundError:
            pass
        assert time.monotonic() < end, "metrics file %s not (yet) as expected" % path
        time.sleep(0.05)


def test_master_metrics(tmp_path, cluster):
    path = tmp_path / "redis_ha_check.prom"
    proc, _track = _start(tmp_path, cluster, metrics_file=str(path), vips="127.0.0.1/8 192.0.2.77/24")
    try:
        found = _samples(path)
        stamp = path.stat().st_mtime
        time.sleep(1.5)
        rewritten = path.stat().st_mtime > stamp
    finally:
        _stop(proc)
    assert found[("redis_ha_check_verdict", None)] == 1
    assert found[("redis_ha_check_reason", "master_confirmed")] == 1
    assert [k for k in found if k[0] == "redis_ha_check_reason"] == [("redis_ha_check_reason", "master_confirmed")]
    assert found[("redis_ha_check_sentinels", "configured")] == 3
    assert found[("redis_ha_check_sentinels", "agreeing")] >= 2  # the round stops once the verdict is certain
    assert found[("redis_ha_check_sentinels", "required")] == 2
    assert found[("redis_ha_check_vip_held", "127.0.0.1")] == 1
    assert found[("redis_ha_check_vip_held", "192.0.2.77")] == 0
    assert found[("redis_ha_check_fenced", None)] == 0
    assert 0 < found[("redis_ha_check_evaluation_seconds", None)] < 1
    assert abs(found[("redis_ha_check_last_change_timestamp_seconds", None)] - time.time()) < 30
    assert rewritten, "not rewritten within a second and a half"
    assert oct(path.stat().st_mode & 0o777) == "0o644"  # node_exporter reads it as another user


def test_replica_metrics_and_subscriptions(tmp_path, cluster):
    path = tmp_path / "redis_ha_check.prom"
    proc, _track = _start(tmp_path, cluster, node=cluster.replica, metrics_file=str(path))
    try:
        found = _samples(path, want=lambda f: f.get(("redis_ha_check_event_subscriptions", "up")) == 3)
    finally:
        _stop(proc)
    assert found[("redis_ha_check_verdict", None)] == 0
    assert found[("redis_ha_check_reason", "not_master")] == 1
    assert found[("redis_ha_check_event_subscriptions", "down")] == 0


def test_unreachable_sentinels_reason(tmp_path, cluster):
    path = tmp_path / "redis_ha_check.prom"
    proc, _track = _start(tmp_path, cluster, metrics_file=str(path),
                          sentinels="127.0.0.1:%d" % cluster.dead_port)
    try:
        found = _samples(path)
    finally:
        _stop(proc)
    assert found[("redis_ha_check_reason", "sentinels_unreachable")] == 1
    assert found[("redis_ha_check_sentinels", "answered")] == 0


def test_an_unwritable_metrics_file_is_reported_once(tmp_path, cluster):
    path = tmp_path / "missing-folder" / "redis_ha_check.prom"
    proc, track = _start(tmp_path, cluster, metrics_file=str(path))
    try:
        time.sleep(2.0)  # about 40 evaluations, 2 due writes
        alive = proc.poll() is None
        held = track.read_bytes()
    finally:
        _stop(proc)
    log = proc.stderr.read()
    assert alive and held == b"0\n", log  # the verdict does not depend on the metrics
    assert log.count("metrics file not written") == 1, log
