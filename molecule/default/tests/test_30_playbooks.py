"""Every playbook of playbooks/ runs against the converged group on the two-network topology, with writes
through the VIP every 20 ms (tools/drill.py): switchover and rolling restart lose no acknowledged write and
fail writes only briefly. site.yml (with its preflight) is the converge and idempotence step of this scenario
and runs again in test_20_failover. Generous bounds: the real figures (median/max of 5) are in
docs/benchmarks.md."""

import pathlib

import drill
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
RECOVERY_BOUND_S = 60
FAILED_WRITES_BOUND_S = 10
# playbook -> the drill fault that runs it under a writer
DRILLED = {"switchover.yml": "switchover", "rolling_restart.yml": "rolling-restart"}
# playbook -> where else the suite runs it
ELSEWHERE = {"site.yml": "converge, idempotence, test_20_failover", "preflight.yml": "imported by site.yml",
             "migrate_engine.yml": "test_40_migrate_engine"}


def test_every_playbook_is_run_by_the_suite():
    shipped = {p.name for p in (ROOT / "playbooks").glob("*.yml")}
    assert shipped == set(DRILLED) | set(ELSEWHERE), (
        "playbooks without a test against a converged group: %s" % sorted(shipped - set(DRILLED) - set(ELSEWHERE)))


@pytest.mark.parametrize("playbook", sorted(DRILLED))
def test_playbook_under_writes_loses_no_acknowledged_write(playbook):
    report = drill.drill([DRILLED[playbook]], runs=1, observe_s=15)
    run = report["runs"][0]
    print("\nMEASURED: %s drill: failed writes %.2f s, recovery %s s, lost %s, deposed acks %s, %s -> %s"
          % (playbook, run["failed_s"], run["recovery_s"], run["lost_acked"], run["deposed_acks"],
             run["old_master"], run["final_master"]))
    assert run.get("playbook_rc") == 0, run
    assert run["final_master"] and run["final_master"] != run["old_master"], run
    assert run["recovery_s"] is not None and run["recovery_s"] < RECOVERY_BOUND_S, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["lost_acked"] == 0, run
    assert run["deposed_acks"] == 0, run
    assert run["acked"] > 100, run
