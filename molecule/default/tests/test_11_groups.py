"""Two Redis groups on the same three nodes (issue 27, docs/group-model.md), in the combination the suite runs with
REDIS_HA_GROUPS (the lab's second group `cache`: its own ports, master name, VIP and router id). Both groups are
deployed with their masters on one node; freezing the group cache's master (SIGSTOP of that server only) fails
cache over and moves cache's VIP only, while a writer through the group ha's VIP sees no failed write and neither
group loses an acknowledged write; then a switchover of one group (playbooks/switchover.yml
-e redis_ha_group_name=cache) under writers on both groups, a rolling restart of that group alone (which switches it
over again) under writers on both, and the status view of each group. Generous bounds: pass/fail, not figures
(the freeze as a series: docs/benchmarks.md, tools/bench_group_freeze.py)."""

import json
import time

import drill
import drill_faults
import drill_load
import lab
import pytest

OTHER = "cache"

pytestmark = pytest.mark.skipif(not lab.groups(), reason="the second group runs in one combination (REDIS_HA_GROUPS)")


def _vrrp_states(node):
    """(instance, state) of each VRRP state change of a node since the converge, oldest first (the lab's notify hook
    record-state writes them)."""
    res = lab.docker("exec", node, "cat", "/var/tmp/redis-vip-states.log", check=False)
    return [tuple(line.split()[2:0:-1]) for line in res.stdout.splitlines() if len(line.split()) == 3]


def test_both_groups_run_with_their_masters_on_one_node():
    ips = lab.node_ips()
    masters = {grp: lab.wait_for(lambda g=grp: lab.group_settled(g, ips), 30) for grp in (None, OTHER)}
    assert masters[None] and masters[None] == masters[OTHER], masters
    assert lab.vip(OTHER) != lab.vip() and lab.redis_port(OTHER) != lab.redis_port()
    # keepalived was reloaded for the group cache's instance after the group ha's had become MASTER: the group ha's
    # VIP went to its master once and never left it (converge and idempotence)
    ha_instance = lab.vrrp_instance()
    states = {node: [s for i, s in _vrrp_states(node) if i == ha_instance] for node in lab.nodes()}
    assert states[masters[None]][-1:] == ["MASTER"] and states[masters[None]].count("MASTER") == 1, states
    assert all("MASTER" not in s for node, s in states.items() if node != masters[None]), states


def test_freezing_one_groups_master_moves_only_that_groups_vip():
    ips = lab.node_ips()
    master = lab.group_settled(OTHER, ips)
    assert master and lab.group_settled(None, ips) == master
    r, _writers = drill_faults.group_freeze(OTHER, master, ips)
    moved = r["moved"]
    assert moved and len(moved) == 1 and moved[0] != master, moved
    assert r["write_back"]  # writes through cache's VIP succeeded again (on the new master)
    assert r["ha_unmoved"]  # while cache's master was frozen, the group ha's VIP and master stayed on its node
    print("\nMEASURED: freeze of %s's master on %s: its VIP moved to %s after %.1f s; failed writes %s; "
          "acknowledged writes lost %s" % (OTHER, master, moved[0], r["t_moved"] - r["t_sent"], r["failed"], r["lost"]))
    assert r["rejoined"] == moved[0], (r["rejoined"], moved)
    assert r["failed"]["ha"] == 0, r["failed"]
    assert r["lost"] == {"ha": 0, OTHER: 0}, r["lost"]
    assert all(n > 100 for n in r["writes"].values()), r["writes"]


def test_switchover_of_one_group_under_writers_on_both():
    ips = lab.node_ips()
    before = {grp: lab.group_settled(grp, ips) for grp in (None, OTHER)}
    assert all(before.values()), before
    target = next(n for n in lab.nodes() if n != before[OTHER])
    writers = drill_load.group_writers((None, OTHER))
    time.sleep(1.0)
    res = drill.ansible_playbook("switchover.yml", ["-e", "redis_ha_group_name=%s" % OTHER,
                                                    "-e", "switchover_to=%s" % target])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    after = lab.wait_for(lambda: lab.group_settled(OTHER, ips) == target and target, 30)
    time.sleep(1.0)
    drill_load.stop_threads(*writers.values())
    failed = {grp or "ha": sum(1 for r in w.results if not r["ok"]) for grp, w in writers.items()}
    lost = drill_load.lost_writes(writers, ips)
    print("\nMEASURED: switchover of %s %s -> %s: failed writes %s, acknowledged writes lost %s"
          % (OTHER, before[OTHER], target, failed, lost))
    assert after == target, (before, after)
    assert lab.group_settled(None, ips) == before[None]  # the group ha did not move
    assert failed["ha"] == 0, failed
    assert lost == {"ha": 0, OTHER: 0}, lost


def _server_pids():
    """{(node, group name): MainPID of the group's server unit} on every node, both groups."""
    pids = {}
    for node in lab.nodes():
        for grp in (None, OTHER):
            res = lab.docker("exec", node, "systemctl", "show", "-p", "MainPID", "--value", lab.unit("server", grp))
            pids[(node, grp or "ha")] = int(res.stdout.strip() or 0)
    return pids


def test_rolling_restart_of_one_group_restarts_only_its_servers_under_writers_on_both():
    """rolling_restart.yml -e redis_ha_group_name=cache: every server of cache restarted once (its replicas, a
    switchover away from its master, then the old master), none of the group ha's; ha's master unmoved and its
    writer without a failed write; neither group loses an acknowledged write."""
    ips = lab.node_ips()
    before = {grp: lab.group_settled(grp, ips) for grp in (None, OTHER)}
    assert all(before.values()), before
    pids = _server_pids()
    writers = drill_load.group_writers((None, OTHER))
    time.sleep(1.0)
    res = drill.ansible_playbook("rolling_restart.yml", ["-e", "redis_ha_group_name=%s" % OTHER])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    after = lab.wait_for(lambda: lab.group_settled(OTHER, ips), 30)
    time.sleep(1.0)
    drill_load.stop_threads(*writers.values())
    failed = {grp or "ha": sum(1 for r in w.results if not r["ok"]) for grp, w in writers.items()}
    lost = drill_load.lost_writes(writers, ips)
    now = _server_pids()
    restarted = sorted(key for key in pids if now[key] != pids[key])
    print("\nMEASURED: rolling restart of %s (%s -> %s): failed writes %s, acknowledged writes lost %s, restarted %s"
          % (OTHER, before[OTHER], after, failed, lost, restarted))
    assert restarted == sorted((node, OTHER) for node in lab.nodes()), restarted
    assert all(now.values()), now
    assert after and after != before[OTHER], (before, after)
    assert lab.group_settled(None, ips) == before[None]  # the group ha did not move
    assert failed["ha"] == 0, failed
    assert lost == {"ha": 0, OTHER: 0}, lost


@pytest.mark.parametrize("grp", [None, OTHER], ids=["ha", OTHER])
def test_status_view_of_each_group(grp, tmp_path):
    """status.yml (-e redis_ha_group_name=cache for the group cache) reports that group's master, VIP holder and
    each node's role and check verdict."""
    ips = lab.node_ips()
    master = lab.wait_for(lambda: lab.group_settled(grp, ips), 30)
    assert master
    out = tmp_path / "status.json"
    extra = ["-e", "status_format=json", "-e", "status_file=%s" % out]
    res = drill.ansible_playbook("status.yml", extra + (["-e", "redis_ha_group_name=%s" % grp] if grp else []),
                                 timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["master"] == master and report["vip_holders"] == {lab.vip(grp): [master]}, report
    for row in report["nodes"]:
        assert row["role"] == ("master" if row["node"] == master else "replica"), row
        assert row["sentinel_master"] == master, row
        assert row["check"] == ("promote" if row["node"] == master else "demote"), row
