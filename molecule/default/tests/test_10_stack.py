"""The converged stack: Redis on every node, one master, replicas in sync, VIP on Sentinel's master,
a write through the VIP readable on every replica. Node-local facts through testinfra (`host`), the
client's view from the control machine through the lab tools."""

import uuid

import lab
import pytest
import restart_races
import yaml


@pytest.fixture(scope="module")
def ips():
    found = lab.node_ips()
    assert all(found.values()), found
    return found


def test_fresh_deploy_started_each_service_once_and_restarted_none(host):
    """The converge and the idempotence run on these fresh nodes: systemd's journal shows each unit of the stack
    started once and never stopped, restarted or reloaded (a restart of a server the run has just started is what
    hung fresh deploys: a replica writing its initial AOF ignores the SIGTERM). The first test of the verify
    step: later tests restart units on purpose. In these containers the packages' own starts at install fail
    (their sandboxing) or are skipped (keepalived without a config), so no start happened before the converge's."""
    node = host.backend.get_hostname()
    seen = {unit: [event for _t, event in restart_races.unit_events(node, unit)]
            for unit in restart_races.stack_units()}
    for unit, events in seen.items():
        assert events.count("Started") == 1, (node, unit, events)
        assert "Stopping" not in events, (node, unit, events)
        # each further group's VRRP instance file, written after keepalived started, reloads it once (its other
        # instances keep their state: test_11_groups.py)
        reloads = len(lab.groups()) if unit == "keepalived" else 0
        assert events.count("Reloading") <= reloads, (node, unit, events)


def test_services_running_and_enabled(host):
    for name in (lab.units()["server"], lab.units()["sentinel"], "keepalived"):
        service = host.service(name)
        assert service.is_running, name
        assert service.is_enabled, name


def test_secret_files_are_not_world_readable(host):
    conf = lab.units()["config_dir"]
    for path in (conf + "/redis-ha.conf", conf + "/sentinel-ha.conf", "/etc/keepalived/redis-vip-check.conf",
                 "/etc/redis-ha/%s-cli.env" % lab.units()["sentinel"]):
        f = host.file(path)
        assert f.exists, path
        assert f.mode & 0o007 == 0, "%s is mode %o" % (path, f.mode)


def test_every_node_answers(ips):
    for name, ip in ips.items():
        assert lab.redis_client(ip).ping(), name


def test_exactly_one_master_and_replicas_in_sync(ips):
    roles = {name: lab.redis_role(ip) for name, ip in ips.items()}
    masters = [n for n, r in roles.items() if r == "master"]
    assert len(masters) == 1, roles
    master_ip = ips[masters[0]]
    for name, ip in ips.items():
        if name == masters[0]:
            continue
        info = lab.redis_client(ip).info("replication")
        assert info["role"] == "slave", (name, info)
        assert info["master_host"] == master_ip, (name, info)
        assert info["master_link_status"] == "up", (name, info)


def test_sentinels_agree_and_vip_is_on_the_master(ips):
    named = {name: lab.sentinel_master(ip) for name, ip in ips.items()}
    assert len(set(named.values())) == 1 and None not in named.values(), named
    master_ip = next(iter(named.values())).rsplit(":", 1)[0]
    master = next(n for n, ip in ips.items() if ip == master_ip)
    assert lab.redis_role(master_ip) == "master"
    holders = lab.wait_for(lambda: lab.vip_holders() == [master] and lab.vip_holders(), 30)
    assert holders == [master], "VIP holders %s, Sentinel's master %s" % (lab.vip_holders(), master)


def test_write_through_vip_is_read_on_every_replica(ips):
    key, value = "verify:%s" % uuid.uuid4().hex, uuid.uuid4().hex
    assert lab.vip_client(timeout=2).set(key, value)
    for name, ip in ips.items():
        got = lab.wait_for(lambda ip=ip: lab.redis_client(ip).get(key), 10)
        assert got == value.encode(), "%s did not get the write made through the VIP" % name


def _ping_period(ip):
    reply = lab.sentinel_client(ip, timeout=2).execute_command("SENTINEL", "DEBUG")
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
    return {k.decode().lower(): int(v) for k, v in fields.items()}["ping-period"]


def test_sentinel_ping_period_is_applied_and_again_after_a_restart(ips):
    """SENTINEL DEBUG ping-period lives only in Sentinel's memory: the role sets it, and its ExecStartPost
    sets it again after every start (here: a restart of one replica's Sentinel)."""
    defaults = yaml.safe_load((lab.ROOT / "roles" / "sentinel" / "defaults" / "main.yml").read_text())
    wanted = int(lab.group_vars().get("sentinel_ping_period_ms", defaults["sentinel_ping_period_ms"]))
    assert wanted != 1000, "the test needs a period other than Sentinel's own default (the role's default is one)"
    assert {name: _ping_period(ip) for name, ip in ips.items()} == {name: wanted for name in ips}
    replica = next(n for n, ip in ips.items() if lab.redis_role(ip) == "slave")
    res = lab.docker("exec", replica, "systemctl", "restart", lab.units()["sentinel"], check=False)
    assert res.returncode == 0, res.stderr

    def applied():
        try:
            return _ping_period(ips[replica]) == wanted
        except Exception:  # noqa: BLE001 - not answering yet
            return False
    assert lab.wait_for(applied, 20), "%s: ping-period after a restart is %s" % (replica, _ping_period(ips[replica]))


def test_two_network_topology(host):
    """eth0 is the management network with the default route; Redis, Sentinel and the VIP live on eth1 only,
    so anything that reached a node through its default-route address would fail here."""
    name = host.backend.get_hostname()
    announced = lab.announce_ip(name)
    default_dev = host.check_output("ip -4 route show default").split()
    assert default_dev[default_dev.index("dev") + 1] == "eth0", default_dev
    assert announced in host.check_output("ip -o -4 addr show dev eth1")
    assert announced not in host.check_output("ip -o -4 addr show dev eth0")
    eth0_ip = host.check_output("ip -o -4 addr show dev eth0").split()[3].split("/")[0]
    listening = host.check_output("ss -Hltn")
    for port in (lab.redis_port(), lab.sentinel_port()):
        assert "%s:%d " % (announced, port) in listening, (port, listening)
        assert "%s:%d " % (eth0_ip, port) not in listening and "*:%d " % port not in listening, (port, listening)
    assert " %s/" % lab.vip() not in host.check_output("ip -o -4 addr show dev eth0")


def test_vip_is_reached_through_the_service_network():
    route = lab.docker_host_route(lab.vip())
    assert route == "br-redis-ha", route
