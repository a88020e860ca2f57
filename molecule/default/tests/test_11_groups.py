"""Two Redis groups on the same three nodes (issue 27, docs/group-model.md), in the combination the suite runs with
REDIS_HA_GROUPS (the lab's second group `cache`: its own ports, master name, VIP and router id). Both groups are
deployed with their masters on one node; freezing the group cache's master (SIGSTOP of that server only) fails
cache over and moves cache's VIP only, while a writer through the group ha's VIP sees no failed write and neither
group loses an acknowledged write; then a switchover of one group (playbooks/switchover.yml
-e redis_ha_group_name=cache) under writers on both groups. Generous bounds: pass/fail, not figures."""

import time
import uuid

import drill
import drill_group
import drill_load
import lab
import pytest

OTHER = "cache"
FAILOVER_BOUND_S = 60
REJOIN_BOUND_S = 120

pytestmark = pytest.mark.skipif(not lab.groups(), reason="the second group runs in one combination (REDIS_HA_GROUPS)")


def _wait(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _master(grp, ips=None):
    """The node whose server of the group answers ROLE master (None when none or several do)."""
    ips = ips or lab.node_ips()
    masters = [n for n, ip in ips.items() if ip and lab.redis_role(ip, grp=grp) == "master"]
    return masters[0] if len(masters) == 1 else None


def _settled(grp, ips):
    """(master node) once one master, the others replicas, every Sentinel naming it and the VIP on it only."""
    master = _master(grp, ips)
    if not master:
        return None
    named = {lab.sentinel_master(ip, grp=grp) for ip in ips.values() if ip}
    if named != {"%s:%d" % (ips[master], lab.redis_port(grp))}:
        return None
    return master if lab.vip_holders(grp) == [master] else None


def _writers():
    writers = {grp: drill_load.Writer("groups-%s-%s" % (grp or "ha", uuid.uuid4().hex[:8]), grp=grp)
               for grp in (None, OTHER)}
    for writer in writers.values():
        writer.start()
    return writers


def _lost(writers, ips):
    """Acknowledged writes of each group that its master does not hold (after the writers stopped)."""
    lost = {}
    for grp, writer in writers.items():
        client = lab.redis_client(ips[_master(grp, ips)], grp=grp)
        try:
            lost[grp or "ha"] = len(drill_load.missing_writes(client, writer.run_id,
                                                              [r for r in writer.results if r["ok"]]))
            drill_load.delete_writes(client, writer)
        finally:
            client.close()
    return lost


def _vrrp_states(node):
    """(instance, state) of each VRRP state change of a node since the converge, oldest first (the lab's notify hook
    record-state writes them)."""
    res = lab.docker("exec", node, "cat", "/var/tmp/redis-vip-states.log", check=False)
    return [tuple(line.split()[2:0:-1]) for line in res.stdout.splitlines() if len(line.split()) == 3]


def test_both_groups_run_with_their_masters_on_one_node():
    ips = lab.node_ips()
    masters = {grp: _wait(lambda g=grp: _settled(g, ips), 30) for grp in (None, OTHER)}
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
    master = _settled(OTHER, ips)
    assert master and _settled(None, ips) == master
    writers = _writers()
    time.sleep(1.0)
    frozen_at, frozen_t = time.monotonic(), drill_group.now()
    lab.docker("exec", master, "systemctl", "kill", "-s", "STOP", lab.unit("server", OTHER))
    try:
        moved = _wait(lambda: lab.vip_holders(OTHER) not in ([], [master]) and lab.vip_holders(OTHER), FAILOVER_BOUND_S)
        moved_s = time.monotonic() - frozen_at
        assert moved and len(moved) == 1 and moved[0] != master, moved
        # writes through cache's VIP succeed again (on the new master)
        assert _wait(lambda: any(r["ok"] and r["t0"] > frozen_t for r in writers[OTHER].results[-5:]), 10)
        assert lab.vip_holders() == [master] and _master(None, ips) == master  # the group ha did not move
    finally:
        lab.docker("exec", master, "systemctl", "kill", "-s", "CONT", lab.unit("server", OTHER))
    rejoined = _wait(lambda: lab.redis_role(ips[master], grp=OTHER) == "slave" and _settled(OTHER, ips), REJOIN_BOUND_S)
    time.sleep(1.0)
    drill_load.stop_threads(*writers.values())
    failed = {grp or "ha": sum(1 for r in w.results if not r["ok"]) for grp, w in writers.items()}
    lost = _lost(writers, ips)
    print("\nMEASURED: freeze of %s's master on %s: its VIP moved to %s after %.1f s; failed writes %s; "
          "acknowledged writes lost %s" % (OTHER, master, moved[0], moved_s, failed, lost))
    assert rejoined == moved[0], (rejoined, moved)
    assert failed["ha"] == 0, failed
    assert lost == {"ha": 0, OTHER: 0}, lost
    assert all(len(w.results) > 100 for w in writers.values())


def test_switchover_of_one_group_under_writers_on_both():
    ips = lab.node_ips()
    before = {grp: _settled(grp, ips) for grp in (None, OTHER)}
    assert all(before.values()), before
    target = next(n for n in lab.nodes() if n != before[OTHER])
    writers = _writers()
    time.sleep(1.0)
    res = drill.ansible_playbook("switchover.yml", ["-e", "redis_ha_group_name=%s" % OTHER,
                                                    "-e", "switchover_to=%s" % target])
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    after = _wait(lambda: _settled(OTHER, ips) == target and target, 30)
    time.sleep(1.0)
    drill_load.stop_threads(*writers.values())
    failed = {grp or "ha": sum(1 for r in w.results if not r["ok"]) for grp, w in writers.items()}
    lost = _lost(writers, ips)
    print("\nMEASURED: switchover of %s %s -> %s: failed writes %s, acknowledged writes lost %s"
          % (OTHER, before[OTHER], target, failed, lost))
    assert after == target, (before, after)
    assert _settled(None, ips) == before[None]  # the group ha did not move
    assert failed["ha"] == 0, failed
    assert lost == {"ha": 0, OTHER: 0}, lost
