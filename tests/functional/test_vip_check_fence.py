"""The watcher's write fence (issue 28): a master whose check hears no Sentinel of another node pauses its writes
within fence_ms of an evaluation, lifts the pause as soon as the majority names it master again, and lets it lapse
after fence_hold_ms otherwise; one silent Sentinel never pauses anything. Real processes: the session's cluster
(conftest); "another node's Sentinel" is any but the first (local_sentinel), cut off as the drill's partition does
(iptables DROP, here on loopback: the suite runs as root); a stopped Sentinel (SIGSTOP) is no partition: its
host's TCP stack still acknowledges."""

import contextlib
import pathlib
import subprocess
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_vip_check_watcher import _start, _stop, _wait_content  # noqa: E402
from vipcheck_helpers import admin  # noqa: E402

FENCE_MS, HOLD_MS = 80, 3000
RULE_TAG = "redis-ha-fence-test"


class Writer(threading.Thread):
    """SET every 10 ms on the master (one connection each, generous timeout): times of the acknowledged writes."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.acked, self.stop = port, [], threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            admin(self.port, "SET", "fence:%d" % i, "x")
            self.acked.append(time.monotonic())
            time.sleep(0.01)

    def gaps(self, since, until):
        """The longest pause between acknowledgements in [since, until]."""
        times = [t for t in self.acked if since <= t <= until]
        return max((b - a for a, b in zip(times, times[1:])), default=until - since)


def _watch(tmp_path, cluster):
    sentinels = " ".join("127.0.0.1:%d" % s.port for s in cluster.sentinels)
    return _start(tmp_path, cluster, fence_ms=FENCE_MS, fence_hold_ms=HOLD_MS, budget_ms=300, poll_ms=100,
                  local_sentinel="127.0.0.1:%d" % cluster.sentinels[0].port, sentinels=sentinels,
                  metrics_file=str(tmp_path / "check.prom"))


def _fenced(tmp_path):
    """(redis_ha_check_fenced, redis_ha_check_fences_total) of the metrics file."""
    values = {}
    for line in (tmp_path / "check.prom").read_text().splitlines():
        name, value = line.partition("{")[0], line.rsplit(" ", 1)[-1]
        if name in ("redis_ha_check_fenced", "redis_ha_check_fences_total"):
            values[name] = float(value)
    return values["redis_ha_check_fenced"], values["redis_ha_check_fences_total"]


def _iptables(action, sentinels):
    """Drop (or stop dropping) loopback packets to and from these Sentinels' ports: a partition, as the drill's."""
    for s in sentinels:
        for direction in ("--dport", "--sport"):
            subprocess.run(["iptables", action, "INPUT", "-i", "lo", "-p", "tcp", direction, str(s.port), "-m",
                            "comment", "--comment", RULE_TAG, "-j", "DROP"], check=action == "-I",
                           capture_output=True, timeout=10)


def _silence(sentinels):
    _iptables("-I", sentinels)
    return time.monotonic()


def _resume(sentinels):
    _iptables("-D", sentinels)
    return time.monotonic()


@contextlib.contextmanager
def _watched_writes(tmp_path, cluster, log):
    """The watcher with the fence on the master, and a writer: (writer); the watcher's stderr goes to `log`."""
    proc, track = _watch(tmp_path, cluster)
    writer = Writer(cluster.master.port)
    try:
        assert _wait_content(track, b"0\n", 5)
        writer.start()
        time.sleep(0.4)
        yield writer
    finally:
        _resume(cluster.sentinels[1:])
        writer.stop.set()
        writer.join(15)
        _stop(proc)
        log.append(proc.stderr.read())


def test_isolated_master_stops_acknowledging_then_resumes_when_the_majority_answers(tmp_path, cluster):
    logs = []
    with _watched_writes(tmp_path, cluster, logs) as writer:
        cut = _silence(cluster.sentinels[1:])
        time.sleep(1.0)
        last_ack = max(writer.acked)
        during = _fenced(tmp_path)
        healed = _resume(cluster.sentinels[1:])
        time.sleep(0.8)
        resumed = [t for t in writer.acked if t > healed]
        after = _fenced(tmp_path)
    log = logs[0]
    assert "writes paused" in log and "writes resumed" in log, log
    # Generous bounds (the benchmark has the figures): the last write acknowledged after the cut came within one
    # poll + fence_ms + scheduling, and writes came back well before the hold would have ended.
    assert last_ack - cut < 0.4, (last_ack - cut, log)
    assert resumed and resumed[0] - healed < 0.8, log
    assert during == (1, 1) and after == (0, 1), (during, after)


def test_one_silent_sentinel_of_another_node_never_pauses(tmp_path, cluster):
    logs = []
    with _watched_writes(tmp_path, cluster, logs) as writer:
        start = _silence(cluster.sentinels[1:2])
        time.sleep(1.5)
        end = _resume(cluster.sentinels[1:2])
        gap = writer.gaps(start, end)
    assert "writes paused" not in logs[0], logs[0]
    assert gap < 0.3, gap


def test_stalled_sentinels_whose_hosts_answer_never_pause(tmp_path, cluster):
    """Both other Sentinels stopped (SIGSTOP: a Sentinel busy writing its config, or starved of CPU): their hosts'
    TCP stacks still acknowledge the requests, so this is no partition."""
    logs = []
    with _watched_writes(tmp_path, cluster, logs) as writer:
        for s in cluster.sentinels[1:]:
            s.sigstop()
        start = time.monotonic()
        try:
            time.sleep(1.0)
        finally:
            for s in cluster.sentinels[1:]:
                s.sigcont()
        gap = writer.gaps(start, time.monotonic())
    assert "writes paused" not in logs[0], logs[0]
    assert gap < 0.3, gap


def test_the_pause_lapses_after_the_hold_and_is_not_renewed(tmp_path, cluster):
    logs = []
    with _watched_writes(tmp_path, cluster, logs) as writer:
        cut = _silence(cluster.sentinels[1:])
        time.sleep(HOLD_MS / 1000.0 + 1.5)
        after = [t for t in writer.acked if t > cut + 0.4]
    assert logs[0].count("writes paused") == 1, logs[0]
    # Here the replica is still connected (only Sentinels are silent), so Redis accepts writes again when the
    # pause lapses; with a real partition min-replicas-to-write refuses them by then.
    assert after and HOLD_MS / 1000.0 - 0.3 < after[0] - cut < HOLD_MS / 1000.0 + 0.8, (after[:1], cut, logs[0])
