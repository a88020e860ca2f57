"""Secrets stay secret and access is least privilege, after a normal converge.

* A second site.yml run with the good inventory, at -vvv: it passes the preflight, changes nothing and
  prints no password. It is also the second run of this checkout's site.yml after test_00_upgrade_in_place.py's
  take-over of the group the converge deployed with the release before (which has no second run of its own).
* `ps` on every node shows no password; the files holding passwords are 0640 and owned by the service's
  user/group; Redis and Sentinel listen only on the configured addresses; protected-mode is on.
* The Redis ACL users can do what they must and are refused what they must not; unauthenticated clients
  are refused by Redis and by Sentinel.
"""

import re

import pytest
import redis
import lab
import valnodes


@pytest.fixture(scope="module")
def ips():
    return lab.node_ips()


@pytest.fixture(scope="module")
def master(ips):
    named = {lab.sentinel_master(ip) for ip in ips.values()}  # "ip:port"
    assert len(named) == 1 and None not in named, named
    return named.pop().rsplit(":", 1)[0]


@pytest.fixture(scope="module")
def replica(ips, master):
    return next(ip for ip in ips.values() if ip != master)


def test_good_rerun_passes_preflight_changes_nothing_and_prints_no_password():
    res = valnodes.run_site(valnodes.INVENTORY / "hosts.yml", verbosity=3)
    output = res.stdout + res.stderr
    assert res.returncode == 0, output[-5000:]
    assert "PLAY [%s]" % valnodes.PREFLIGHT_PLAY in res.stdout
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M)
    assert sorted(h for h, _ in recap) == sorted(lab.nodes()), recap
    assert all(int(c) == 0 for _, c in recap), "site.yml changed something on a second run: %s" % recap
    assert not valnodes.leaked(output), "passwords in the -vvv output of site.yml: %s" % valnodes.leaked(output)


def test_no_password_in_any_command_line():
    for node in lab.nodes():
        ps = valnodes.node_exec(node, "ps -eww -o user=,pid=,args=")
        assert "redis-server" in ps and "redis-sentinel" in ps and "keepalived" in ps, ps
        assert not valnodes.leaked(ps), "%s: passwords in ps: %s" % (node, valnodes.leaked(ps))


@pytest.mark.parametrize("path,owner", [
    ("/etc/redis/redis-ha.conf", "redis:redis"),
    ("/etc/redis/sentinel-ha.conf", "redis:redis"),
    ("/etc/keepalived/redis-vip-check.conf", "root:keepalived_script"),
    ("/etc/keepalived/keepalived.conf", "root:root"),
])
def test_files_holding_passwords_are_0640_and_owned_by_the_service(path, owner):
    for node in lab.nodes():
        got = valnodes.node_exec(node, "stat -c '%%U:%%G %%a' %s" % path).strip()
        assert got == "%s 640" % owner, "%s %s: %s" % (node, path, got)


def test_services_listen_only_on_the_configured_addresses(ips):
    allowed = {"127.0.0.1", lab.vip()}
    for node, ip in ips.items():
        listening = valnodes.node_exec(node, "ss -Hltn")
        for port in (6379, 26379):
            addrs = {m.group(1).strip("[]") for m in re.finditer(r"\s(\S+):%d\s" % port, listening)}
            assert addrs, "%s: nothing listens on %d:\n%s" % (node, port, listening)
            expected = allowed | {ip} if port == 6379 else {"127.0.0.1", ip}
            assert addrs <= expected, "%s port %d listens on %s, expected only %s" % (node, port, addrs, expected)


def test_protected_mode_is_on(ips):
    for node, ip in ips.items():
        admin = valnodes.user_client(ip, "admin")
        assert admin.config_get("protected-mode") == {"protected-mode": "yes"}, node
        admin.close()
        conf = valnodes.node_exec(node, "grep -E '^protected-mode' /etc/redis/sentinel-ha.conf").strip()
        assert conf == "protected-mode yes", (node, conf)


def test_unauthenticated_and_wrong_password_clients_are_refused(ips):
    for node, ip in ips.items():
        anon = valnodes.client(ip)
        assert valnodes.refusal(anon.ping), "%s: Redis answered an unauthenticated PING" % node
        assert valnodes.refusal(lambda: anon.get("x")), "%s: Redis answered an unauthenticated GET" % node
        wrong = valnodes.client(ip, username="admin", password="not-the-password")
        assert valnodes.refusal(wrong.ping), "%s: Redis accepted a wrong password" % node


def test_sentinel_refuses_clients_without_its_password(ips):
    for node, ip in ips.items():
        anon = valnodes.client(ip, port=lab.sentinel_port())  # no password
        assert valnodes.refusal(anon.ping), "%s: Sentinel answered without its password" % node
        assert valnodes.refusal(lambda: anon.execute_command("SENTINEL", "masters")), node
        good = lab.sentinel_client(ip)  # the inventory's redis_ha_sentinel_password
        assert good.ping(), node


def _allowed(cli, *command):
    assert valnodes.refusal(lambda: cli.execute_command(*command)) is None, "%s was refused" % (command,)


def _refused(cli, *command):
    assert valnodes.refusal(lambda: cli.execute_command(*command)), "%s was allowed" % (command,)


def test_vipcheck_can_role_info_ping_only(master, replica):
    for ip in (master, replica):
        cli = valnodes.user_client(ip, "vipcheck")
        _allowed(cli, "ROLE")
        _allowed(cli, "INFO", "replication")
        _allowed(cli, "PING")
        _refused(cli, "GET", "acl:probe")
        _refused(cli, "SET", "acl:probe", "x")
        _refused(cli, "CONFIG", "GET", "maxmemory")
        _refused(cli, "KEYS", "*")


def test_replicator_cannot_read_or_write_keys(master):
    cli = valnodes.user_client(master, "replicator")
    _allowed(cli, "PING")
    _refused(cli, "GET", "acl:probe")
    _refused(cli, "SET", "acl:probe", "x")
    _refused(cli, "CONFIG", "GET", "maxmemory")
    _refused(cli, "FLUSHALL")


def test_sentinel_user_cannot_touch_data(master, replica):
    for ip in (master, replica):
        cli = valnodes.user_client(ip, "sentinel")
        _allowed(cli, "ROLE")
        _allowed(cli, "INFO", "replication")
        _refused(cli, "GET", "acl:probe")
        _refused(cli, "KEYS", "*")
        _refused(cli, "FLUSHALL")
        _refused(cli, "CONFIG", "GET", "maxmemory")


def test_default_user_has_data_but_no_admin_commands(master):
    cli = valnodes.user_client(master, "default")
    assert cli.set("acl:probe", "v")
    assert cli.get("acl:probe") == b"v"
    _refused(cli, "CONFIG", "GET", "maxmemory")
    _refused(cli, "ACL", "LIST")
    _refused(cli, "SHUTDOWN", "ABORT")            # allowed, it would only answer "no shutdown in progress"
    _refused(cli, "REPLICAOF", "NO", "ONE")       # on the master: a no-op if it were allowed
    cli.delete("acl:probe")


def test_admin_can_administer(master):
    cli = valnodes.user_client(master, "admin")
    _allowed(cli, "CONFIG", "GET", "maxmemory")
    _allowed(cli, "ACL", "LIST")
    assert cli.execute_command("ACL", "WHOAMI") == b"admin"
    users = {line.split()[1].decode() for line in cli.execute_command("ACL", "LIST")}
    assert users == {"default", "admin", "replicator", "sentinel", "vipcheck"}, users
    assert cli.set("acl:admin", "v") and cli.delete("acl:admin") == 1


def test_every_acl_user_needs_its_password(master):
    for user in ("admin", "replicator", "sentinel", "vipcheck"):
        cli = valnodes.client(master, username=user, password="wrong-" + user)
        assert valnodes.refusal(cli.ping), "%s accepted a wrong password" % user
    nopass = redis.Redis(host=master, port=6379, socket_timeout=2, socket_connect_timeout=2)
    assert valnodes.refusal(nopass.ping)
