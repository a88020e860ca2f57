"""Each role used on its own, as a user of one role would: one play per role with only that role
(roles: [redis_ha.sentinel_vip.ROLE]) and, as play variables, only that role's own variables and the
group-wide redis_ha_* ones (the inventory holds only the connection settings), applied to the converged
nodes: sentinel first (no fact of the redis role exists yet in the run), then keepalived, then redis. Each
role runs its own checks first (roles/ROLE/tasks/validate.yml) and needs nothing of the other roles'
variables. The sentinel role installs its configuration validator itself: removed first, it is the only
change of the run (everything else is already as the roles alone want it: the same result as site.yml's).
One run only (suite budget): a second one would repeat the idempotence that this run already shows.
"""

import lab
import valnodes
import yaml

ROLES = ["sentinel", "keepalived", "redis"]
VALIDATOR = "/usr/local/libexec/redis-ha/redis-config-check"


def _files(workdir):
    """The inventory (connection settings only) and the playbook of one play per role."""
    hosts = yaml.safe_load((valnodes.INVENTORY / "hosts.yml").read_text())
    inventory = workdir / "hosts.yml"
    inventory.write_text(yaml.safe_dump(hosts, sort_keys=False))
    gv = lab.group_vars()
    plays = [{"name": "Apply the %s role alone" % role, "hosts": "redis_ha", "become": True,
              "gather_facts": role == ROLES[0],
              "vars": {k: v for k, v in gv.items() if k.startswith((role + "_", "redis_ha_"))},
              "roles": [{"role": "redis_ha.sentinel_vip.%s" % role}]} for role in ROLES]
    playbook = workdir / "roles-alone.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    return inventory, playbook


def _changed_tasks(inventory, playbook):
    res = valnodes.run_site(inventory, json_output=True, playbook=playbook)
    output = res.stdout + res.stderr
    assert res.returncode == 0, "the roles alone failed:\n%s" % output[-5000:]
    assert not valnodes.leaked(output), "passwords in the output of the roles alone: %s" % valnodes.leaked(output)
    report = valnodes.json_report(res.stdout)
    assert [p["play"]["name"] for p in report["plays"]] == ["Apply the %s role alone" % r for r in ROLES]
    assert sorted(report["stats"]) == sorted(lab.nodes()), report["stats"]
    return sorted({(t["task"]["name"], host) for p in report["plays"] for t in p["tasks"]
                   for host, result in t["hosts"].items() if result.get("changed")})


def test_each_role_alone_converges_with_its_own_and_group_wide_variables_only(tmp_path):
    inventory, playbook = _files(tmp_path)
    for node in lab.nodes():
        valnodes.node_exec(node, "rm -f %s" % VALIDATOR)
    first = _changed_tasks(inventory, playbook)
    expected = sorted(("Install the configuration validator (the same file as the redis role's)", node)
                      for node in lab.nodes())
    assert [(task.split(" : ")[-1], host) for task, host in first] == expected, first
