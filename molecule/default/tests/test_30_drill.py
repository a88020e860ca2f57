"""One failover drill as a pass/fail check: a planned switchover (playbooks/switchover.yml) through the drill
tool's Python API (tools/drill.py), with writes through the VIP every 20 ms. Generous bounds: the real figures
(median/max of 5 runs) live in docs/benchmarks.md."""

import drill

RECOVERY_BOUND_S = 60
FAILED_WRITES_BOUND_S = 10


def test_switchover_drill_loses_no_acknowledged_write():
    report = drill.drill(["switchover"], runs=1, observe_s=15)
    run = report["runs"][0]
    print("\nMEASURED: switchover drill: failed writes %.2f s, recovery %s s, lost %s, deposed acks %s, %s -> %s"
          % (run["failed_s"], run["recovery_s"], run["lost_acked"], run["deposed_acks"], run["old_master"],
             run["final_master"]))
    assert run.get("playbook_rc") == 0, run
    assert run["final_master"] and run["final_master"] != run["old_master"], run
    assert run["recovery_s"] is not None and run["recovery_s"] < RECOVERY_BOUND_S, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["lost_acked"] == 0, run
    assert run["deposed_acks"] == 0, run
    assert run["acked"] > 100, run
