"""Bad inventories are refused before any host changes.

Each file in molecule/validation/bad/ is one bad inventory: extra variables for site.yml, with comment
directives `# expect: VARIABLE` (the variable the refusal must name), and optionally `# hosts: NODE...`
(the inventory reduced to these nodes) or `# drop: VARIABLE...` (variables removed from the inventory).
For each, against the converged nodes, the real playbooks/site.yml is run from the control machine
(ansible.posix.json output) and the test asserts that:

* the run fails, and every failure is in the preflight play, with a message naming the variable;
* no task of the deploy play ran, and nothing was reported changed;
* no password appears anywhere in the output;
* the checksum, owner and mode of every file under /etc and /usr/local and the package database, and the
  main PID of every Redis/Sentinel/keepalived service, are the same on every node as before the run.
"""

import pytest
import valnodes

CASES = sorted(valnodes.BAD.glob("*.yml"))
REQUIRED = {  # the list: each must be among the cases
    "vip_not_an_address", "vip_outside_subnet", "vrid_0", "vrid_256", "priority_255", "auth_pass_9_chars",
    "interface_missing", "two_bootstrap_masters", "two_sentinels", "even_quorum", "missing_redis_password",
}


def test_every_required_case_is_present():
    assert REQUIRED <= {c.stem for c in CASES}, REQUIRED - {c.stem for c in CASES}


@pytest.fixture(scope="module")
def baseline():
    """The nodes' state once they have settled after the converge."""
    return valnodes.settled_snapshot()


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_bad_inventory_is_refused_in_preflight_and_changes_nothing(path, baseline, tmp_path):
    case = valnodes.bad_case(path)
    inventory = valnodes.case_inventory(case, tmp_path)
    before = valnodes.snapshot()
    assert not valnodes.snapshot_diff(baseline, before), "the nodes changed before this case ran"

    res = valnodes.run_site(inventory, path, json_output=True)
    output = res.stdout + res.stderr

    after = valnodes.snapshot()
    changed = valnodes.snapshot_diff(before, after)
    assert not valnodes.leaked(output, case["vars"]), "%s: passwords in the output: %s" % (
        case["name"], valnodes.leaked(output, case["vars"]))
    assert res.returncode != 0, "%s: site.yml succeeded:\n%s" % (case["name"], output[-3000:])
    report = valnodes.json_report(res.stdout)
    failed = valnodes.failures(report)
    assert failed, "%s: no failed task in the report:\n%s" % (case["name"], output[-3000:])
    for play, task, host, msg in failed:
        print("  %s: refused by [%s] on %s: %s" % (case["name"], task, host, msg))
        assert play == valnodes.PREFLIGHT_PLAY, "%s: failed outside the preflight: %s / %s" % (case["name"], play, task)
    assert any(case["expect"] in msg for _, _, _, msg in failed), \
        "%s: no refusal names %s: %s" % (case["name"], case["expect"], failed)
    deploy_tasks = [t["task"]["name"] for p in report["plays"] if p["play"]["name"] != valnodes.PREFLIGHT_PLAY
                    for t in p["tasks"]]
    assert not deploy_tasks, "%s: the deploy play ran %s" % (case["name"], deploy_tasks)
    assert all(stats.get("changed", 0) == 0 for stats in report["stats"].values()), report["stats"]
    assert not changed, "%s: the nodes changed:\n%s" % (case["name"], "\n".join(changed[:20]))
