"""Day-2 playbooks refuse, before anything changes, the hosts they are not made for: a witness (redis_ha_witness,
tasks/no_witness.yml: rolling_restart, upgrade, backup, restore, migrate_engine) and hosts with several Redis
groups (redis_ha_groups, tasks/one_group.yml: upgrade and migrate_engine change what every group of a host shares).

Each case runs the real playbook against the converged nodes with extra variables that make every host a witness,
or give every host a second group, and asserts that the run fails at the refusal with its message, that no other
task failed or changed anything, and (after all of them) that no file, package or service PID changed on a node.
"""

import concurrent.futures

import pytest
import valnodes
import yaml

RUNS_AT_ONCE = 3
WITNESS = {"redis_ha_witness": True}
SECOND_GROUP = {"redis_ha_groups": [{"name": "cache", "redis_port": 6381, "sentinel_port": 26381,
                                     "master_name": "val-cache", "vips": ["172.31.251.101/24"],
                                     "virtual_router_id": 53}]}
# (playbook, extra variables, the refusing task, words of its message)
CASES = [
    (playbook, WITNESS, "Refuse a witness in this run (this playbook acts on every member's Redis; not made for a "
                        "witness)", "are witnesses")
    for playbook in ("rolling_restart.yml", "upgrade.yml", "backup.yml", "restore.yml", "migrate_engine.yml")
] + [
    (playbook, SECOND_GROUP, "Refuse hosts with several Redis groups (this playbook changes what every group of a "
                             "host shares)", "carry further Redis groups")
    for playbook in ("upgrade.yml", "migrate_engine.yml")
]
IDS = ["%s-%s" % (p.removesuffix(".yml"), "witness" if v is WITNESS else "groups") for p, v, _, _ in CASES]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{case id: the run's JSON report} and what changed on the nodes meanwhile."""
    before = valnodes.settled_snapshot()
    work = tmp_path_factory.mktemp("refused")
    files = {}
    for case_id, (_, extra, _, _) in zip(IDS, CASES):
        files[case_id] = work / ("%s.yml" % case_id)
        files[case_id].write_text(yaml.safe_dump(extra))

    def run(item):
        case_id, (playbook, _, _, _) = item
        res = valnodes.run_site(valnodes.INVENTORY / "hosts.yml", files[case_id], json_output=True,
                                playbook=valnodes.ROOT / "playbooks" / playbook, timeout=300)
        print("  %s: exit %d" % (case_id, res.returncode))
        return case_id, res

    with concurrent.futures.ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
        results = dict(pool.map(run, zip(IDS, CASES)))
    return results, valnodes.snapshot_diff(before, valnodes.snapshot())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_playbook_refuses_before_anything_changes(case, runs, request):
    playbook, _, task, words = case
    res = runs[0][request.node.callspec.id]
    output = res.stdout + res.stderr
    assert res.returncode != 0, "%s ran:\n%s" % (playbook, output[-3000:])
    report = valnodes.json_report(res.stdout)
    failed = valnodes.failures(report)
    assert failed and {t for _, t, _, _ in failed} == {task}, failed
    assert all(words in msg and "Nothing was changed" in msg for _, _, _, msg in failed), failed
    changed = {host: stats.get("changed", 0) for host, stats in report["stats"].items()}
    assert not any(changed.values()), changed


def test_the_refused_runs_changed_nothing_on_the_nodes(runs):
    assert runs[1] == [], runs[1]
