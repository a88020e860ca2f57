"""playbooks/migrate_engine.yml on a converged group, last in the scenario (it changes the lab's engine).

* Debian 12 + Redis 7.0: moved to Valkey 8.0 (bookworm-backports) node by node under a writer through the
  VIP: no acknowledged write lost, failed writes no longer than a planned switchover (generous bound here;
  figures in docs/benchmarks.md); then site.yml with redis_ha_engine=valkey changes nothing, and a killed
  master is failed over with the VIP following (the Debian 12 + Valkey 8.0 combination).
* Debian 13 + Redis 8.0: refused before anything changes (Redis 8.0 writes RDB 12, which Valkey 8.1
  cannot load).
* Valkey combinations: nothing to move."""

import os
import re
import time

import drill
import lab
import pytest
from test_20_failover import _converge_changed, _new_master_named_by, _sentinel_master_node

FAILED_WRITES_BOUND_S = 10
FAILOVER_BOUND_S = 60


def _config_checksums():
    out = {}
    for node in lab.nodes():
        res = lab.docker("exec", node, "sh", "-c", "md5sum /etc/redis/*.conf /etc/keepalived/*.conf; "
                         "systemctl is-active redis-server redis-sentinel", check=False)
        out[node] = res.stdout
    return out


@pytest.mark.skipif((lab.platform(), lab.engine()) != ("debian13", "redis"),
                    reason="the refusal is for Redis 8.0 -> Valkey")
def test_move_that_cannot_be_online_is_refused_before_anything_changes():
    before = _config_checksums()
    os.environ["REDIS_HA_ENGINE"] = "valkey"
    try:
        res = drill.ansible_playbook("migrate_engine.yml")
    finally:
        os.environ["REDIS_HA_ENGINE"] = "redis"
    print(res.stdout[-2500:])
    assert res.returncode != 0
    assert "writes RDB format 12" in res.stdout and "loads at most 11" in res.stdout, res.stdout[-3000:]
    assert re.search(r"changed=0 ", res.stdout) and not re.search(r"changed=[1-9]", res.stdout)
    assert _config_checksums() == before


@pytest.mark.skipif((lab.platform(), lab.engine()) != ("debian12", "redis"),
                    reason="online move: Debian 12 Redis -> Valkey")
def test_online_move_to_valkey_loses_no_acknowledged_write():
    report = drill.drill(["migrate-engine"], runs=1, observe_s=15)
    run = report["runs"][0]
    print("\nMEASURED: migrate_engine.yml drill: failed writes %.2f s, playbook %s s, lost %s, deposed acks %s, "
          "%s -> %s" % (run["failed_s"], run.get("playbook_s"), run["lost_acked"], run["deposed_acks"],
                        run["old_master"], run["final_master"]))
    assert run.get("playbook_rc") == 0, run
    assert run["lost_acked"] == 0, run
    assert run["deposed_acks"] == 0, run
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["acked"] > 100, run
    for node in lab.nodes():
        active = lab.docker("exec", node, "systemctl", "is-active", "valkey-server", "valkey-sentinel",
                            check=False).stdout.split()
        assert active == ["active", "active"], (node, active)
        old = lab.docker("exec", node, "systemctl", "is-active", "redis-server", "redis-sentinel", check=False)
        assert "active" not in old.stdout.split(), (node, old.stdout)

    # The moved group is converged: site.yml with redis_ha_engine=valkey changes nothing.
    assert lab.engine() == "valkey"
    changed = _converge_changed()
    assert changed == {n: 0 for n in lab.nodes()}, changed

    # ...and fails over: kill the master, a write through the VIP succeeds, the VIP is on the new master.
    ips = lab.node_ips()
    master, votes = _sentinel_master_node(ips)
    assert master and votes == len(lab.nodes()), (master, votes)  # every Sentinel
    t_kill = time.monotonic()
    lab.docker("kill", master)
    try:
        drill.first_write_through_vip("migrated:failover", "ok", t_kill, FAILOVER_BOUND_S, timeout=0.3)
        print("MEASURED: Valkey group: docker kill %s -> first write through the VIP %.2f s" % (
            master, time.monotonic() - t_kill))
        survivors = {n: ip for n, ip in ips.items() if n != master}
        new_master, votes = _new_master_named_by(survivors)
        assert new_master in survivors and votes == len(survivors), (new_master, votes)
        assert lab.vip_holders() == [new_master]
    finally:  # the later tests need the whole group
        lab.docker("start", master)
