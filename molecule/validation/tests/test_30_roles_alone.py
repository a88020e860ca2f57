"""Each role used on its own, as a user of one role would: a playbook with only that role
(roles: [redis_ha.sentinel_vip.ROLE]) and an inventory holding only that role's own variables and the
group-wide redis_ha_* ones, applied to the converged nodes. Each runs its own checks first
(roles/ROLE/tasks/validate.yml), needs nothing of the other roles' variables, and leaves the group as
site.yml made it (changed=0: the same configuration). The sentinel role installs its configuration
validator itself: removed first, it comes back on the first run, and a second run changes nothing.
"""

import re

import pytest
import valnodes
import yaml

ROLES = ["redis", "sentinel", "keepalived"]
VALIDATOR = "/usr/local/libexec/redis-ha/redis-config-check"


def _inventory(role, workdir):
    """The validation inventory reduced to ROLE_* and redis_ha_* variables (plus the connection settings)."""
    gv = {k: v for k, v in valnodes.group_vars().items() if k.startswith((role + "_", "redis_ha_"))}
    hosts = yaml.safe_load((valnodes.INVENTORY / "hosts.yml").read_text())
    hosts["redis_ha"]["vars"].update(gv)
    path = workdir / ("%s-alone.yml" % role)
    path.write_text(yaml.safe_dump(hosts, sort_keys=False))
    return path


def _playbook(role, workdir):
    play = [{"name": "Apply the %s role alone" % role, "hosts": "redis_ha", "become": True, "gather_facts": True,
             "roles": [{"role": "redis_ha.sentinel_vip.%s" % role}]}]
    path = workdir / ("%s-alone-play.yml" % role)
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return path


def _apply(role, workdir):
    res = valnodes.run_site(_inventory(role, workdir), playbook=_playbook(role, workdir))
    output = res.stdout + res.stderr
    assert res.returncode == 0, "%s alone failed:\n%s" % (role, output[-5000:])
    assert not valnodes.leaked(output), "passwords in the output of the %s role: %s" % (role, valnodes.leaked(output))
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M))
    assert sorted(recap) == sorted(valnodes.nodes()), recap
    return {host: int(changed) for host, changed in recap.items()}


@pytest.mark.parametrize("role", ROLES)
def test_role_alone_converges_with_its_own_and_group_wide_variables_only(role, tmp_path):
    if role == "sentinel":
        for node in valnodes.nodes():
            valnodes.node_exec(node, "rm -f %s" % VALIDATOR)
        first = _apply(role, tmp_path)
        assert all(changed >= 1 for changed in first.values()), "the sentinel role did not reinstall its validator: %s" \
            % first
        for node in valnodes.nodes():
            assert valnodes.node_exec(node, "test -x %s && echo ok" % VALIDATOR).strip() == "ok", node
    second = _apply(role, tmp_path)
    assert all(changed == 0 for changed in second.values()), "the %s role alone changed something: %s" % (role, second)
