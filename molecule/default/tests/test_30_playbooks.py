"""Every playbook of playbooks/ runs against the converged group on the two-network topology, with writes
through the VIP every 20 ms (tools/drill.py): switchover and rolling restart lose no acknowledged write and
fail writes only briefly. site.yml (with its preflight) is the converge and idempotence step of this scenario
and runs again in test_20_failover. Generous bounds: the real figures (median/max of 5) are in
docs/benchmarks.md."""

import pathlib
import time
import uuid

import drill
import lab
import pytest
import restart_races

ROOT = pathlib.Path(__file__).resolve().parents[3]
RECOVERY_BOUND_S = 60
FAILED_WRITES_BOUND_S = 10
# issue 29: a replica in its initial AOF rewrite (KEYS keys, REWRITE_US microseconds each) must be waited for,
# never left in an endless stop; RESTART_BOUND_S is generous (the rewrite itself lasts KEYS * REWRITE_US)
KEYS = 20000
REWRITE_US = 500
RESTART_BOUND_S = 120
# rolling_restart.yml reaches its first replica ~15 s after the drill starts: a 40 s rewrite is still running then
ROLLING_REWRITE_US = 2000
CANT_EXIT = "Writing initial AOF, can't exit"
# the failed-write time of one planned switchover (about 0.7 s measured), rounded up: what a run of the handlers
# that restart Sentinels and watchers may cost at most
SWITCHOVER_FAILED_S = 1.0
# playbook -> the drill fault that runs it under a writer
DRILLED = {"switchover.yml": "switchover", "rolling_restart.yml": "rolling-restart"}
# playbook -> where else the suite runs it
ELSEWHERE = {"site.yml": "converge, idempotence, test_20_failover", "preflight.yml": "imported by site.yml",
             "migrate_engine.yml": "test_40_migrate_engine", "status.yml": "test_45_status",
             "scrape_config.yml": "test_47_day2", "forget_members.yml": "test_47_day2",
             "backup.yml": "test_46_backup", "restore.yml": "test_46_backup",
             "upgrade.yml": "test_38_upgrade"}


def test_every_playbook_is_run_by_the_suite():
    shipped = {p.name for p in (ROOT / "playbooks").glob("*.yml")}
    assert shipped == set(DRILLED) | set(ELSEWHERE), (
        "playbooks without a test against a converged group: %s" % sorted(shipped - set(DRILLED) - set(ELSEWHERE)))


# With a second group (REDIS_HA_GROUPS, the Valkey combination) rolling_restart.yml runs under writers in
# test_11_groups (the group cache alone, writers on both groups); the drill here, with its replica caught in an
# AOF rewrite, runs on the two Redis combinations (suite budget).
GROUPS_ROLLING = pytest.mark.skipif(bool(lab.groups()), reason="rolling_restart.yml under writers: test_11_groups here")


@pytest.mark.parametrize("playbook", [pytest.param(p, marks=GROUPS_ROLLING) if p == "rolling_restart.yml" else p
                                      for p in sorted(DRILLED)])
def test_playbook_under_writes_loses_no_acknowledged_write(playbook, request):
    """rolling_restart.yml meets a replica in its initial AOF rewrite (the first one it restarts): it must wait
    for the rewrite (bounded) instead of sending a SIGTERM the server refuses."""
    caught = request.getfixturevalue("keys_on_a_replica") if playbook == "rolling_restart.yml" else None
    if caught:
        first = next(n for n in lab.nodes() if lab.redis_role(lab.node_ip(n)) == "slave")
        since = restart_races.start_slow_aof_rewrite(lab.node_ip(first), delay_us=ROLLING_REWRITE_US)
    report = drill.drill([DRILLED[playbook]], runs=1, observe_s=15)
    run = report["runs"][0]
    if caught:
        log = restart_races.server_log_since(first, since)
        assert not any(CANT_EXIT in line for line in log), log[-20:]
        done = [i for i, line in enumerate(log) if "Background AOF rewrite finished" in line]
        term = [i for i, line in enumerate(log) if "Received SIGTERM" in line]
        assert done and term and done[0] < term[0], log[-30:]
    print("\nMEASURED: %s drill: failed writes %.2f s, recovery %s s, lost %s, deposed acks %s, %s -> %s"
          % (playbook, run["failed_s"], run["recovery_s"], run["lost_acked"], run["deposed_acks"],
             run["old_master"], run["final_master"]))
    assert run.get("playbook_rc") == 0, run
    assert run["final_master"] and run["final_master"] != run["old_master"], run
    # the rolling restart waits for the replica's rewrite before it goes on: its switchover comes that much later
    bound = RECOVERY_BOUND_S + (KEYS * ROLLING_REWRITE_US / 1e6 if caught else 0)
    assert run["recovery_s"] is not None and run["recovery_s"] < bound, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["lost_acked"] == 0, run
    assert run["deposed_acks"] == 0, run
    assert run["acked"] > 100, run


def _replica_in_sync(name, ip, master_ip, timeout=RESTART_BOUND_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = lab.redis_client(ip, timeout=2).info("replication")
            if info.get("master_link_status") == "up" and info.get("master_host") == master_ip:
                return True
        except Exception:  # noqa: BLE001 - restarting
            pass
        time.sleep(0.5)
    raise AssertionError("%s not back in sync with %s within %d s" % (name, master_ip, timeout))


@pytest.fixture()
def keys_on_a_replica():
    """KEYS keys on the master, held by a replica: (master ip, replica name, replica ip); removed afterwards."""
    ips = lab.node_ips()
    master = drill.wait_healthy(180)
    replica = next(n for n in ips if n != master)
    prefix = "aof:%s" % uuid.uuid4().hex[:8]
    restart_races.fill(ips[master], prefix, KEYS)
    deadline = time.monotonic() + 60
    while lab.redis_client(ips[replica], timeout=5).dbsize() < KEYS and time.monotonic() < deadline:
        time.sleep(0.2)
    yield ips[master], replica, ips[replica]
    restart_races.drop(ips[drill.wait_healthy(180)], prefix, KEYS)


def test_restart_during_the_initial_aof_rewrite_ends(keys_on_a_replica):
    """A replica that writes its initial AOF (as after a full sync) ignores a SIGTERM. An operator's plain
    `systemctl restart` then ends as soon as the rewrite has (the drop-in's ExecStop repeats the SIGTERM, bounded,
    never SIGKILL); the role's restart path waits for the rewrite first (progress: its retries), so the server
    never sees a SIGTERM it must refuse. Both within a generous bound, the replica back in sync with every key,
    and every write acknowledged through the VIP meanwhile on the master and on the restarted replica."""
    master_ip, replica, ip = keys_on_a_replica
    writer = drill.Writer("aof%s" % uuid.uuid4().hex[:6])
    writer.start()
    try:
        _restart_twice_during_the_rewrite(master_ip, replica, ip)
    finally:
        drill.stop_threads(writer)
    acked = ["drill:%s:%d" % (writer.run_id, w["seq"]) for w in writer.results if w["ok"]]
    assert len(acked) > 100, writer.results[-5:]
    lab.redis_client(master_ip, timeout=10).execute_command("WAIT", len(lab.nodes()) - 1, 5000)
    for name, node_ip in (("master", master_ip), (replica, ip)):
        missing = restart_races.missing_keys(node_ip, acked)
        assert not missing, "%s lacks %d acknowledged writes, e.g. %s" % (name, len(missing), missing[:3])
    restart_races.drop_keys(master_ip, acked)


def _restart_twice_during_the_rewrite(master_ip, replica, ip):
    """systemctl restart, then the role's restart path, each while the replica writes its initial AOF."""
    since = restart_races.start_slow_aof_rewrite(ip, delay_us=REWRITE_US)
    t0 = time.monotonic()
    res = lab.docker("exec", replica, "systemctl", "restart", lab.units()["server"], check=False,
                     timeout=RESTART_BOUND_S)
    took = time.monotonic() - t0
    print("\nMEASURED: systemctl restart during the initial AOF rewrite: %.1f s" % took)
    assert res.returncode == 0, res.stderr
    _replica_in_sync(replica, ip, master_ip)
    refused = [line for line in restart_races.server_log_since(replica, since) if CANT_EXIT in line]
    assert len(refused) >= 2, "the restart did not meet the rewrite twice (ExecStop's repeated SIGTERM): %s" % refused

    since = restart_races.start_slow_aof_rewrite(ip, delay_us=REWRITE_US)
    t0 = time.monotonic()
    run = drill.ansible_playbook("molecule/default/tests/restart_redis.yml", ("--limit", replica),
                                 timeout=RESTART_BOUND_S)
    print("MEASURED: the role's restart path during the initial AOF rewrite: %.1f s" % (time.monotonic() - t0))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "FAILED - RETRYING: [%s]: Wait until the server can stop" % replica in run.stdout, run.stdout[-3000:]
    log = restart_races.server_log_since(replica, since)
    assert not any(CANT_EXIT in line for line in log), log[-20:]
    _replica_in_sync(replica, ip, master_ip)
    assert lab.redis_client(ip, timeout=5).dbsize() >= KEYS


# One combination (suite budget): TLS with plaintext ports beside, the Valkey group.
HANDLERS_DRILLED = (lab.platform(), lab.engine()) == ("debian13", "valkey")


@pytest.mark.skipif(not HANDLERS_DRILLED, reason="run on Debian 13 + Valkey only (suite budget)")
def test_site_run_restarting_every_sentinel_and_watcher_loses_nothing():
    """A site.yml run whose handlers fire on every node (a changed Sentinel drop-in, new code of the check):
    the Sentinels restart one at a time (their restarts never overlap, per systemd's journal), the watchers
    reload in place (never stopped), under a writer through the VIP: nothing lost, at most one switchover's
    worth of failed writes, the master and the VIP stay."""
    since = time.time()
    report = drill.drill(["handler-restarts"], runs=1, observe_s=15)
    run = report["runs"][0]
    print("\nMEASURED: handler-restarts drill: failed writes %.2f s, lost %s, site.yml %s s"
          % (run["failed_s"], run["lost_acked"], run.get("playbook_s")))
    assert run.get("playbook_rc") == 0, run
    assert run["final_master"] == run["old_master"], run
    assert run["lost_acked"] == 0 and run["deposed_acks"] == 0, run
    assert run["failed_s"] <= SWITCHOVER_FAILED_S, run
    sentinel = lab.units()["sentinel"]
    windows = {node: restart_races.restart_windows(node, sentinel, since) for node in lab.nodes()}
    assert all(len(spans) == 1 for spans in windows.values()), windows
    assert not restart_races.overlapping(windows), windows
    for node in lab.nodes():
        events = [e for _t, e in restart_races.unit_events(node, "redis-vip-watch", since)]
        assert "Reloading" in events and "Stopping" not in events, (node, events)
    assert lab.vip_holders() == [run["old_master"]]
