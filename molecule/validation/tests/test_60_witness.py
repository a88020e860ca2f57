"""A Sentinel-only witness (issue 25, docs/lifecycle.md "Witness nodes"): two data nodes and one witness, deployed by
site.yml and failed over like any group. Runs after test_50_members.py (whatever group it left: three or four data
members) and also removes a member, in the same runs (the step test_50 had on its own before):

* One site.yml run and one forget_members.yml run, under a writer through the VIP, turn the group into the master,
  one other data node, and redis-val-4 recreated empty with redis_ha_witness: true; a third data node is left out
  of the inventory (removed) and stopped after site.yml, before forget_members.yml. Afterwards: the witness has
  Sentinel and no Redis or keepalived installed or running; its Sentinel names the master; every Sentinel knows
  the two others (the witness among them) and only the other data node as a replica, quorum 2; the data nodes'
  keepalived peers hold neither the witness nor the removed node, their check's Sentinel list holds the witness's
  Sentinel; no write lost or failed.
* The master's container is killed: the other data node is promoted by the two surviving Sentinels (quorum 2 of 3:
  the witness's vote is needed, and its log shows it voting for the leader of the new epoch); the VIP moves to it,
  writes through the VIP resume, no acknowledged write lost.
"""

import json
import time

import drill
import lab
import pytest
import valnodes
from drill_group import now

FORGET = valnodes.ROOT / "playbooks" / "forget_members.yml"
WITNESS = ("redis-val-4", "172.31.251.14")
# Two data nodes: a master that lost its only replica must still take writes (the preflight refuses otherwise).
GROUP_VARS = {"redis_min_replicas_to_write": 0}


def run(playbook, inventory) -> object:
    t0 = time.monotonic()
    res = valnodes.run_site(inventory, playbook=playbook)
    print("\nMEASURED: %s (witness group): %.1f s, rc %s" % (playbook.name, time.monotonic() - t0, res.returncode))
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    return res


def sentinel_log_lines(node: str) -> list[str]:
    log = "%s/%s.log" % (lab.units()["log_dir"], lab.units()["sentinel"])
    return valnodes.node_exec(node, "cat %s" % log).splitlines()


def vip_holders(nodes) -> list[str]:
    found = []
    for node in nodes:
        res = lab.docker("exec", node, "ip", "-o", "addr", "show", check=False, timeout=10)
        if res.returncode == 0 and " %s/" % lab.vip() in res.stdout:
            found.append(node)
    return found


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """The witness group deployed: {"master": (node, ip), "data": (node, ip), "witness": (node, ip), "members": {}}."""
    workdir = tmp_path_factory.mktemp("witness")
    first = lab.node_ip(lab.nodes()[0]) or next(ip for ip in lab.node_ips().values() if ip)
    master_ip = lab.sentinel_master(first).rsplit(":", 1)[0]
    ips = dict(lab.node_ips())
    master = next(n for n, ip in ips.items() if ip == master_ip)
    data, removed = [n for n in ips if n != master][:2]
    members = {master: master_ip, data: ips[data], WITNESS[0]: WITNESS[1]}
    inventory = valnodes.inventory_with(workdir, members, witnesses=(WITNESS[0],), extra=GROUP_VARS)
    t0 = time.monotonic()
    with valnodes.Writes(sentinel_ip=master_ip) as writes:
        # never two of four members down at once: the Sentinels and the VIP check would lose their majority (the
        # first try, removed member stopped before the rebuild, lost the VIP until site.yml had run). The removed
        # member is stopped once no member lists it any more, before forget_members.yml.
        valnodes.recreate(*WITNESS)
        run(valnodes.SITE, inventory)
        lab.docker("stop", "-t", "10", removed, timeout=60)
        run(FORGET, inventory)
        took = valnodes.wait_views(members, master_ip, timeout=30, witnesses=(WITNESS[0],))
    print("MEASURED: witness group (%s removed, %s witness): %.1f s in all; views right %.1f s after "
          "forget_members.yml; writes %d acked, %d failed, %d lost"
          % (removed, WITNESS[0], time.monotonic() - t0, took, len(writes.acked), len(writes.failed), writes.lost))
    assert len(writes.acked) > 100 and writes.lost == 0 and not writes.failed, writes.failed[:5]
    return {"master": (master, master_ip), "data": (data, ips[data]), "witness": WITNESS, "removed": removed,
            "members": members}


def test_the_witness_runs_sentinel_only_and_knows_the_master(group):
    witness, master_ip = group["witness"][0], group["master"][1]
    units = lab.units()
    out = valnodes.node_exec(witness, "dpkg-query -W -f '${Package} ${Status}\\n' %s %s keepalived 2>&1; "
                                      "for u in %s %s keepalived; do echo \"unit $u $(systemctl is-active $u)\"; done"
                             % (units["server"], units["sentinel"], units["server"], units["sentinel"]))
    print(out)
    assert "unit %s active" % units["sentinel"] in out, out
    assert "unit %s active" % units["server"] not in out and "unit keepalived active" not in out, out
    assert "%s install ok installed" % units["server"] not in out and "keepalived install ok installed" not in out, out
    assert lab.sentinel_master(group["witness"][1]) == "%s:%d" % (master_ip, lab.redis_port())
    for node in (group["master"][0], group["data"][0]):
        conf = valnodes.node_exec(node, "cat /etc/keepalived/keepalived.conf /etc/keepalived/redis-vip-check.conf")
        peers = conf.split("unicast_peer", 1)[1].split("}", 1)[0]
        assert group["witness"][1] not in peers, "%s has the witness among its keepalived peers:%s" % (node, peers)
        removed_ip = lab.announce_ip(group["removed"])
        assert removed_ip not in conf, "%s still names the removed %s (%s)" % (node, group["removed"], removed_ip)
        sentinels = next(line for line in conf.splitlines() if line.startswith("sentinels="))
        assert "%s:%d" % (group["witness"][1], lab.sentinel_port()) in sentinels, sentinels


def test_a_witness_group_fails_over_with_the_witness_vote(group):
    master, (data, data_ip), (witness, witness_ip) = group["master"][0], group["data"], group["witness"]
    rport = lab.redis_port()
    assert vip_holders(group["members"]) == [master]
    witness_log_before = len(sentinel_log_lines(witness))
    data_log_before = len(sentinel_log_lines(data))
    with valnodes.Writes(sentinel_ip=data_ip) as writes:
        time.sleep(1)
        t_kill = now()
        lab.docker("kill", master, timeout=60)
        # as the default scenario measures a failover: a new connection to the VIP every 50 ms, 0.2 s timeout
        t_write, attempts, error = drill.first_write_through_vip("witness:after", "1", t_kill, 30)
        assert t_write is not None, "no write through the VIP 30 s after the kill: %s" % error
        deadline = now() + 20
        while lab.sentinel_master(witness_ip) != "%s:%d" % (data_ip, rport) or \
                lab.sentinel_master(data_ip) != "%s:%d" % (data_ip, rport) or lab.redis_role(data_ip) != "master":
            assert now() < deadline, "the Sentinels do not name %s: %s" % (data, json.dumps(lab.status()))
            time.sleep(0.2)
        t_named = now() - t_kill
        assert vip_holders((data, witness)) == [data], vip_holders((data, witness))
        time.sleep(2)  # writes go on through the VIP on the new master
    results = writes.writer.results
    after = [w for w in results if w["t0"] >= t_kill]
    last_failed = max((w["t1"] for w in after if not w["ok"]), default=t_kill)
    print("MEASURED: witness group: docker kill %s -> first write through the VIP %.2f s (%d attempts), %s on the "
          "VIP and named master by the witness's and its own Sentinel by %.2f s; writer (2 s timeout): last failed "
          "write ended %.2f s after the kill; writes %d acked, %d failed, %d lost"
          % (master, t_write - t_kill, attempts, data, t_named, last_failed - t_kill, len(writes.acked),
             len(writes.failed), writes.lost))
    assert writes.lost == 0, "%d acknowledged writes lost" % writes.lost
    assert any(w["ok"] and w["t0"] > last_failed for w in after), "no write succeeded after the last failed one"
    assert all(w["t0"] >= t_kill for w in results if not w["ok"]), "writes failed before the kill"

    # the vote: quorum 2 of 3 Sentinels with the master's down, so the leader needed the witness's vote
    witness_log = sentinel_log_lines(witness)[witness_log_before:]
    data_log = sentinel_log_lines(data)[data_log_before:]
    leader = next((n for n, log in ((witness, witness_log), (data, data_log))
                   if any("+elected-leader" in line for line in log)), None)
    assert leader, "no +elected-leader in the logs of %s and %s:\n%s\n%s" % (
        witness, data, "\n".join(witness_log), "\n".join(data_log))
    leader_id = lab.sentinel_client(group["members"][leader]).execute_command("SENTINEL", "MYID").decode()
    votes = [line for line in witness_log if "+vote-for-leader %s " % leader_id in line]
    print("MEASURED: failover leader %s; the witness's vote: %s" % (leader, votes[-1:] or "none"))
    assert votes, "the witness did not vote for the leader %s (%s):\n%s" % (leader, leader_id, "\n".join(witness_log))
    assert any("+switch-master" in line and data_ip in line for line in witness_log), "\n".join(witness_log)
    views = valnodes.sentinel_views({data: data_ip, witness: witness_ip})
    assert all(v.get("quorum") == 2 and v.get("master") == "%s:%d" % (data_ip, rport) for v in views.values()), views
