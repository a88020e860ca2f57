"""Replace, add and remove a member (issue 25, docs/lifecycle.md), under a writer through the VIP, with every
Sentinel's view (SENTINEL SENTINELS / REPLICAS / MASTER) asserted equal to the inventory's group.

* Replace: a replica's container recreated empty with the same name and address; site.yml then
  forget_members.yml (the old Sentinel ID stays known from the same address until a reset): the new node is a
  replica in sync, every view equals the group, no acknowledged write lost, no write failed.
* Add: redis-val-4 (molecule.yml's fourth container, outside the converged group) joins with site.yml on a
  four-member inventory: every view has four members, quorum 3.
* Remove the master: refused by site.yml and forget_members.yml (message naming playbooks/switchover.yml),
  nothing changed on any node.
* Remove a member: test_60_witness.py (a stopped replica removed in the same site.yml and forget_members.yml runs
  that turn the group into two data nodes and a witness).
"""

import time

import lab
import pytest
import valnodes

FORGET = valnodes.ROOT / "playbooks" / "forget_members.yml"
FOURTH = ("redis-val-4", "172.31.251.14")


def master_ip() -> str:
    return lab.sentinel_master(lab.node_ip(lab.nodes()[0])).rsplit(":", 1)[0]


def members(extra: tuple[str, str] | None = None) -> dict[str, str]:
    found = dict(lab.node_ips())
    if extra:
        found[extra[0]] = extra[1]
    return found


def run(playbook, inventory) -> tuple[float, object]:
    t0 = time.monotonic()
    res = valnodes.run_site(inventory, playbook=playbook)
    took = time.monotonic() - t0
    print("\nMEASURED: %s (%s): %.1f s, rc %s" % (playbook.name, inventory.parent.name, took, res.returncode))
    return took, res


def in_sync(ip: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while lab.redis_client(ip).info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "%s is not in sync %d s after the run" % (ip, timeout)
        time.sleep(1)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("members")


def test_a_replaced_member_rejoins_in_sync_and_is_known_once(workdir):
    group = members()
    master = master_ip()
    victim = [n for n, ip in group.items() if ip != master][0]
    inventory = valnodes.INVENTORY / "hosts.yml"
    with valnodes.Writes() as writes:
        valnodes.recreate(victim, group[victim])
        _, res = run(valnodes.SITE, inventory)
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
        in_sync(group[victim])
        _, forget = run(FORGET, inventory)
        assert forget.returncode == 0, (forget.stdout + forget.stderr)[-5000:]
        took = valnodes.wait_views(group, master)
    print("MEASURED: replace %s: views right %.1f s after forget_members.yml; writes %d acked, %d failed, %d lost"
          % (victim, took, len(writes.acked), len(writes.failed), writes.lost))
    assert len(writes.acked) > 100 and writes.lost == 0 and not writes.failed, writes.failed[:5]


def test_a_new_member_joins(workdir):
    group = members(FOURTH)
    master = master_ip()
    with valnodes.Writes() as writes:
        _, res = run(valnodes.SITE, valnodes.inventory_with(workdir, group))
        assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
        in_sync(FOURTH[1])
        valnodes.wait_views(group, master)
    print("MEASURED: add: writes %d acked, %d failed, %d lost" % (len(writes.acked), len(writes.failed), writes.lost))
    assert writes.lost == 0 and not writes.failed, writes.failed[:5]


def test_removing_the_master_is_refused_with_nothing_changed(workdir):
    group = members(FOURTH)
    master = master_ip()
    without = {n: ip for n, ip in group.items() if ip != master}
    inventory = valnodes.inventory_with(workdir, without)
    before = valnodes.settled_snapshot()
    for playbook in (valnodes.SITE, FORGET):
        _, res = run(playbook, inventory)
        out = res.stdout + res.stderr
        assert res.returncode != 0 and "playbooks/switchover.yml" in out and master in out, out[-3000:]
    assert not valnodes.snapshot_diff(before, valnodes.snapshot())
    valnodes.wait_views(group, master)
