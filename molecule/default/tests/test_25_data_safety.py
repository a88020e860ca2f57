"""Data-safety drills as pass/fail checks (issue 10), through the drill tool's Python API (tools/drill.py):
writes through the VIP every 20 ms, 2000 keys written on the master and replicated before the fault, and
every node must hold all of them after the run. Generous bounds: the real figures (median/max of 5 runs)
are in docs/benchmarks.md. The restart-empty failover also checks the keepalived notify hooks (issue 14): the
lab inventory's hook appends "<epoch> <state> <instance>" to HOOK_LOG on every node.

Each drill runs on one Debian 13 combination of the scenario (suite budget): restart-empty with Valkey 8.1,
crash-restart with Redis 8.0 (the Debian 12 + Redis 7.0 run carries the engine move instead)."""

import time

import drill
import lab
import pytest

HOOK_LOG = "/var/tmp/redis-vip-states.log"

FAILED_WRITES_BOUND_S = 10


def only_on(platform, engine):
    return pytest.mark.skipif((lab.platform(), lab.engine()) != (platform, engine),
                              reason="runs on %s + %s only (suite budget)" % (platform, engine))


def run_one(fault):
    run = drill.drill([fault], runs=1, observe_s=15)["runs"][0]
    print("\nMEASURED: %s drill: failed writes %.2f s, recovery %s s, acked lost %s, replica keys lost %s (%s), "
          "%s -> %s" % (fault, run["failed_s"], run["recovery_s"], run["lost_acked"], run.get("replica_keys_lost"),
                        run.get("base_keys_missing"), run["old_master"], run["final_master"]))
    assert run["base_keys_synced_to"] == len(lab.nodes()) - 1, run  # every replica had the keys before the fault
    assert run.get("replica_keys_lost") == 0, run  # and every node still has all of them
    assert run["lost_acked"] == 0, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["recovery_s"] is not None, run
    assert run["acked"] > 300, run
    return run


def hook_states():
    """{node: [(epoch, state), ...]} in the order the node's notify hook was called for the group ha's VRRP instance
    (a further group's instance has its own, REDIS_HA_GROUPS)."""
    states, ours = {}, lab.vrrp_instance()
    for node in lab.nodes():
        out = lab.docker("exec", node, "cat", HOOK_LOG, timeout=10).stdout
        states[node] = [(float(t), state) for t, state, instance in (line.split() for line in out.splitlines())
                        if instance == ours]
    return states


def assert_one_master_at_a_time(states, since):
    """From `since` on, no two nodes were MASTER at the same time (each node starts in the state its hook
    recorded last before `since`: a node killed by an earlier test could not record leaving MASTER)."""
    masters = {node for node, events in states.items() if [s for t, s in events if t < since][-1:] == ["MASTER"]}
    assert len(masters) <= 1, "two VRRP masters before %.3f: %s\n%s" % (since, masters, states)
    changes = sorted((t, node, state) for node, events in states.items() for t, state in events if t >= since)
    for t, node, state in changes:
        (masters.add if state == "MASTER" else masters.discard)(node)
        assert len(masters) <= 1, "two VRRP masters at %.3f: %s\n%s" % (t, masters, states)


@only_on("debian13", "valkey")
def test_master_restarting_empty_is_failed_over_before_a_replica_resyncs():
    t0 = time.time()
    run = run_one("restart-empty")
    # the start-up guard held the empty node until Sentinel had promoted a replica that has the data
    assert run["final_master"] and run["final_master"] != run["old_master"], run
    # the notify hooks were called, in order, with the state of each node's move
    states = hook_states()
    print("MEASURED: notify hook calls since the first converge (s after the fault): %s" % {
        node: ["%s %+.2f" % (state, t - t0) for t, state in events] for node, events in states.items()})
    for events in states.values():
        assert [t for t, _s in events] == sorted(t for t, _s in events), states
    assert_one_master_at_a_time(states, t0)
    old = [(t, s) for t, s in states[run["old_master"]] if t >= t0]
    new = [(t, s) for t, s in states[run["final_master"]] if t >= t0]
    assert [s for t, s in states[run["old_master"]] if t < t0][-1:] == ["MASTER"], states
    # the old master gave the VIP up (FAULT) and did not take it back; then the new master took it and kept it
    assert old and old[0][1] in ("BACKUP", "FAULT") and old[-1][1] != "MASTER", states
    taken = [t for t, s in new if s == "MASTER"]
    assert taken and new[-1][1] == "MASTER", states
    assert old[0][0] < taken[0], states


@only_on("debian13", "redis")
def test_crash_restart_of_the_masters_redis_loses_nothing():
    run_one("crash-restart")
