"""Bad inventories are refused before any host changes.

Each file in molecule/validation/bad/ is one bad inventory: extra variables for site.yml, with comment
directives `# expect: VARIABLE` (the variable the refusal must name), and optionally `# hosts: NODE...`
(the inventory reduced to these nodes) or `# drop: VARIABLE...` (variables removed from the inventory).
For each, against the converged nodes, the real playbooks/site.yml is run from the control machine
(ansible.posix.json output; RUNS_AT_ONCE cases at a time: the runs only read, and the suite's budget is
short) and the test asserts that:

* the run fails, and every failure is in the preflight play, with a message naming the variable;
* no task of the deploy play ran, and nothing was reported changed;
* no password appears anywhere in the output;
* after all the runs, the checksum, owner and mode of every file under /etc and /usr/local and the package
  database, and the main PID of every Redis/Sentinel/keepalived service, are the same on every node as after
  the converge (a change fails every case; the case's own report says which one changed something).
"""

import concurrent.futures
import time

import pytest
import valnodes

RUNS_AT_ONCE = 3

CASES = sorted(valnodes.BAD.glob("*.yml"))
REQUIRED = {  # the list: each must be among the cases
    "vip_not_an_address", "vip_outside_subnet", "vrid_0", "vrid_256", "priority_255", "auth_pass_9_chars",
    "interface_missing", "two_bootstrap_masters", "two_sentinels", "even_quorum", "missing_redis_password",
    "groups_port_clash", "groups_duplicate_vrid", "groups_missing_key",  # redis_ha_groups (issue 27)
}


def test_every_required_case_is_present():
    assert REQUIRED <= {c.stem for c in CASES}, REQUIRED - {c.stem for c in CASES}


@pytest.fixture(scope="module")
def baseline():
    """The nodes' state once they have settled after the converge."""
    return valnodes.settled_snapshot()


@pytest.fixture(scope="module")
def runs(baseline, tmp_path_factory):
    """{case name: (case, site.yml result)} of every case, and what changed on the nodes meanwhile."""
    # The case directories are made here, before the threads: tmp_path_factory is not thread-safe (the first
    # mktemp creates the session's base directory, and three threads doing that at once made one of them fail).
    cases = {path: valnodes.bad_case(path) for path in CASES}
    inventories = {path: valnodes.case_inventory(case, tmp_path_factory.mktemp(case["name"]))
                   for path, case in cases.items()}

    def run(path):
        case, inventory = cases[path], inventories[path]
        started = time.monotonic()
        res = valnodes.run_site(inventory, path, json_output=True)
        print("  [%2d/%d] %s: site.yml exit %d after %.1f s"
              % (len(done) + 1, len(CASES), case["name"], res.returncode, time.monotonic() - started))
        done.append(case["name"])
        return case["name"], (case, res)

    done = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
        results = dict(pool.map(run, CASES))
    return results, valnodes.snapshot_diff(baseline, valnodes.snapshot())


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_bad_inventory_is_refused_in_preflight_and_changes_nothing(path, runs):
    (case, res), changed = runs[0][path.stem], runs[1]
    output = res.stdout + res.stderr
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
