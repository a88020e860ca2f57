"""Rolling package upgrade (issue 25, playbooks/upgrade.yml) from the older Redis of bookworm main, pinned at install
in this combination (inventories/lab: lab_redis_version), to bookworm-security's, under a writer through the VIP
every 20 ms (tools/drill.py `upgrade`): every node ends on the new packages with its server and Sentinel restarted
onto the new binary, no acknowledged write lost, failed writes within one switchover, the master moved once, the
Sentinels agree and the VIP is on the master; a second run changes nothing, a downgrade is refused with nothing
changed. Generous bounds; the figures are in docs/benchmarks.md and docs/upgrades.md.

Runs on Debian 12 + Redis only (the only combination with an older package to upgrade from; suite budget), before
test_40, which moves that group to Valkey."""

import json
import re

import drill
import lab
import pytest

OLD = "5:7.0.15-1~deb12u7"
NEW = "5:7.0.15-1~deb12u10"
ENGINE_PACKAGES = ("redis-server", "redis-tools", "redis-sentinel")
FAILED_WRITES_BOUND_S = 2.0  # one planned switchover fails about 0.7 s of writes

pytestmark = pytest.mark.skipif((lab.platform(), lab.engine()) != ("debian12", "redis"),
                                reason="runs on debian12 + redis only (the older package is pinned there)")


def versions(node):
    out = lab.docker("exec", node, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *ENGINE_PACKAGES,
                     "keepalived").stdout
    return dict(line.split() for line in out.splitlines())


def processes(node):
    """unit -> (main PID, seconds its process started after its binary's file was last replaced: >= 0 when it runs
    the installed binary; /proc/PID/exe is not readable in the containers for processes of another user)"""
    found = {}
    for unit, binary in ((lab.units()["server"], "redis-server"), (lab.units()["sentinel"], "redis-sentinel"),
                         ("keepalived", "keepalived")):
        out = lab.docker("exec", node, "sh", "-c", 'pid=$(systemctl show -p MainPID --value %s); now=$(date +%%s); '
                         'echo $pid $((now - $(ps -o etimes= -p $pid) - $(stat -L -c %%Z $(command -v %s))))'
                         % (unit, binary)).stdout.split()
        found[unit] = (out[0], int(out[1]))
    return found


def pids(node):
    return {unit: pid for unit, (pid, _after) in processes(node).items()}


def config_epochs():
    """Each Sentinel's config-epoch of the master: it grows by one with every failover or switchover."""
    epochs = {}
    for node in lab.nodes():
        cli = lab.sentinel_client(lab.node_ip(node), timeout=2)
        reply = cli.execute_command("SENTINEL", "MASTER", lab.master_name())
        cli.close()
        fields = dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else reply
        epochs[node] = int({k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}["config-epoch"])
    return epochs


def playbook(version):
    """upgrade.yml to version; (exit code, output, changed count of each host)."""
    pins = json.dumps({"redis_package_version": version, "sentinel_package_version": version})
    res = drill.ansible_playbook("upgrade.yml", ("-e", pins))
    changed = {h: int(c) for h, c in re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)", res.stdout, re.M)}
    return res.returncode, res.stdout, changed


RUN = {}


def test_every_node_starts_on_the_older_package():
    assert {n: {p: versions(n)[p] for p in ENGINE_PACKAGES} for n in lab.nodes()} == {
        n: dict.fromkeys(ENGINE_PACKAGES, OLD) for n in lab.nodes()}


def test_upgrade_under_writes_loses_nothing(monkeypatch):
    monkeypatch.setenv("REDIS_HA_REDIS_VERSION", NEW)  # the lab inventory's redis/sentinel_package_version
    before = {n: processes(n) for n in lab.nodes()}
    epochs = config_epochs()
    run = RUN["run"] = drill.drill(["upgrade"], runs=1, observe_s=15)["runs"][0]
    print("\nMEASURED: upgrade drill: upgrade.yml %s s, failed writes %.2f s, lost %s, deposed acks %s, %s -> %s"
          % (run.get("playbook_s"), run["failed_s"], run["lost_acked"], run["deposed_acks"], run["old_master"],
             run["final_master"]))
    assert run.get("playbook_rc") == 0, run
    assert run["lost_acked"] == 0 and run["deposed_acks"] == 0, run
    assert run["failed_s"] <= FAILED_WRITES_BOUND_S, run
    assert run["acked"] > 100, run
    after_epochs = config_epochs()
    assert len(set(after_epochs.values())) == 1 and set(after_epochs.values()) == {max(epochs.values()) + 1}, (
        epochs, after_epochs)  # one switchover, seen by every Sentinel
    master_ip = lab.node_ip(run["final_master"])
    assert {lab.sentinel_master(lab.node_ip(n)) for n in lab.nodes()} == {"%s:%d" % (master_ip, lab.redis_port())}
    assert lab.vip_holders() == [run["final_master"]]
    for node in lab.nodes():
        assert {p: versions(node)[p] for p in ENGINE_PACKAGES} == dict.fromkeys(ENGINE_PACKAGES, NEW), node
        now = processes(node)
        for unit in (lab.units()["server"], lab.units()["sentinel"]):
            assert now[unit][0] != before[node][unit][0], (node, unit, before[node], now)  # restarted
            assert now[unit][1] >= -1, (node, unit, now)  # started after the new binary was installed (1 s rounding)
        assert now["keepalived"][0] == before[node]["keepalived"][0], (node, now)  # its package did not change


def test_second_run_changes_nothing():
    assert "run" in RUN, "the upgrade did not run"
    before = {n: pids(n) for n in lab.nodes()}
    rc, out, changed = playbook(NEW)
    assert rc == 0, out[-3000:]
    assert changed == dict.fromkeys(lab.nodes(), 0), out[-3000:]
    assert {n: pids(n) for n in lab.nodes()} == before


def test_downgrade_is_refused_with_nothing_changed():
    assert "run" in RUN, "the upgrade did not run"
    before = {n: (versions(n), pids(n)) for n in lab.nodes()}
    rc, out, changed = playbook(OLD)
    assert rc != 0 and "refused, a downgrade of redis-server" in out, out[-3000:]
    assert not any(changed.values()), out[-3000:]
    assert {n: (versions(n), pids(n)) for n in lab.nodes()} == before
