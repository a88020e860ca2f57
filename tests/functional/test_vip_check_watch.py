"""The track script's watch window (watch_ms/poll_ms): keepalived runs it at most once a second, so a
run keeps re-evaluating while nothing changes and ends at the first change. Real processes (conftest)."""

import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import CHECK_SCRIPT, CHECK_USER, NODE_PYTHON, admin, base_cfg, run_check, write_cfg  # noqa: E402

SLACK_S = 1.2  # interpreter start-up on a loaded CI machine


def _cfg(tmp_path, cluster, state=None, **over):
    keys = base_cfg(cluster, **over)
    if state is not None:
        (tmp_path / "state").write_text(state + "\n")
        keys["state_file"] = str(tmp_path / "state")
    return write_cfg(tmp_path / "check.conf", **keys)


def test_without_state_file_one_evaluation_is_final(tmp_path, cluster):
    rc, elapsed, err = run_check(_cfg(tmp_path, cluster, watch_ms=3000, poll_ms=50))
    assert rc == 0, err
    assert elapsed < 0.5 + SLACK_S


def test_a_changed_verdict_ends_the_run_at_once(tmp_path, cluster):
    rc, elapsed, err = run_check(_cfg(tmp_path, cluster, state="demote", watch_ms=3000, poll_ms=50))
    assert rc == 0, err
    assert elapsed < 0.5 + SLACK_S
    assert (tmp_path / "state").read_text().split()[0] == "promote"


def test_an_unchanged_verdict_keeps_watching_within_the_window(tmp_path, cluster):
    rc, elapsed, err = run_check(_cfg(tmp_path, cluster, state="promote", watch_ms=1500, poll_ms=50, budget_ms=200))
    assert rc == 0, err
    # evaluations start while start + budget + poll <= 1.5 s, so the run lasts at least ~1.2 s
    assert 1.0 <= elapsed < 1.5 + SLACK_S


def test_a_change_during_the_window_is_reported_at_once(tmp_path, cluster):
    """The master's check user loses ROLE mid-run: the run must end with 'demote' long before the window."""
    cfg = _cfg(tmp_path, cluster, state="promote", watch_ms=6000, poll_ms=50, budget_ms=200)
    proc = subprocess.Popen([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), str(cfg)], stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    try:
        time.sleep(0.8)
        assert proc.poll() is None, "the run ended before anything changed"
        admin(cluster.master.port, "ACL", "SETUSER", CHECK_USER, "-role")
        t_change = time.monotonic()
        rc = proc.wait(timeout=10)
        ended = time.monotonic()
    finally:
        admin(cluster.master.port, "ACL", "SETUSER", CHECK_USER, "+role")
        if proc.poll() is None:
            proc.kill()
    assert rc == 1, proc.stderr.read()
    assert ended - t_change < 0.5 + SLACK_S, "change noticed after %.2f s" % (ended - t_change)
    assert ended - t0 < 6.0
    assert (tmp_path / "state").read_text().split()[0] == "demote"


def test_bad_watch_settings_are_config_errors(tmp_path, cluster):
    for over in ({"watch_ms": "soon"}, {"poll_ms": "5"}, {"watch_ms": "-1"}):
        rc, _, err = run_check(write_cfg(tmp_path / "bad.conf", **base_cfg(cluster, **over)))
        assert rc == 2, (over, err)
