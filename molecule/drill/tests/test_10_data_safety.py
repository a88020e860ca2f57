"""Data-safety drills as pass/fail checks (issue 10), through the drill tool's Python API (tools/drill.py):
writes through the VIP every 20 ms, 2000 keys written on the master and replicated before the fault, and
every node must hold all of them after the run. Generous bounds: the real figures (median/max of 5 runs)
are in docs/benchmarks.md."""

import drill

FAILED_WRITES_BOUND_S = 10


def run_one(fault):
    run = drill.drill([fault], runs=1, observe_s=15)["runs"][0]
    print("\nMEASURED: %s drill: failed writes %.2f s, recovery %s s, acked lost %s, replica keys lost %s (%s), "
          "%s -> %s" % (fault, run["failed_s"], run["recovery_s"], run["lost_acked"], run.get("replica_keys_lost"),
                        run.get("base_keys_missing"), run["old_master"], run["final_master"]))
    assert run["base_keys_synced_to"] == 2, run  # both replicas had the keys before the fault
    assert run.get("replica_keys_lost") == 0, run  # and every node still has all of them
    assert run["lost_acked"] == 0, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["recovery_s"] is not None, run
    assert run["acked"] > 300, run
    return run


def test_master_restarting_empty_is_failed_over_before_a_replica_resyncs():
    run = run_one("restart-empty")
    # the start-up guard held the empty node until Sentinel had promoted a replica that has the data
    assert run["final_master"] and run["final_master"] != run["old_master"], run


def test_crash_restart_of_the_masters_redis_loses_nothing():
    run_one("crash-restart")
