"""Metrics (roles/metrics, redis_ha_metrics on in the lab): one redis_exporter per server and per Sentinel and
node_exporter on every node, each on the service address, as its own system user with its own least-privilege ACL
user whose password is in no process's argv and no exporter's journal; and, on the combination that runs the
scenario's Prometheus (REDIS_HA_PROMETHEUS), every target scraped with up == 1 and the collection's rules loaded."""

import pathlib
import time

import lab
import lab_prometheus
import pytest
import redis
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROOT / "roles" / "metrics" / "defaults" / "main.yml").read_text())
PORTS = {"redis": DEFAULTS["metrics_redis_exporter_port"], "sentinel": DEFAULTS["metrics_sentinel_exporter_port"],
         "node": DEFAULTS["metrics_node_exporter_port"]}
UNITS = {"redis": "redis-ha-exporter@redis", "sentinel": "redis-ha-exporter@sentinel",
         "node": "prometheus-node-exporter"}
TEXTFILE_DIR = DEFAULTS["metrics_textfile_dir"]
UP_BOUND_S = 60


def _metrics_password():
    return lab.group_vars()["redis_ha_metrics_user_password"]


def _scrape(host, job):
    """The exporter's page, fetched on the node from the service address."""
    url = "http://%s:%d/metrics" % (lab.announce_ip(host.backend.get_hostname()), PORTS[job])
    out = host.check_output("python3 -c 'import sys, urllib.request; "
                            "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' %s", url)
    return {line.split(" ")[0]: line.rsplit(" ", 1)[1] for line in out.splitlines() if line and line[0] != "#"}


def test_exporters_run_as_their_own_user_on_the_service_address(host):
    address = lab.announce_ip(host.backend.get_hostname())
    for job, unit in UNITS.items():
        service = host.service(unit)
        assert service.is_running and service.is_enabled, unit
        assert host.socket("tcp://%s:%d" % (address, PORTS[job])).is_listening, (unit, address)
        assert not host.socket("tcp://0.0.0.0:%d" % PORTS[job]).is_listening, unit
    users = host.check_output("ps -C prometheus-redis-exporter -o user= | sort -u").split()
    assert users == [DEFAULTS["metrics_system_user"]], users
    assert not host.service("prometheus-redis-exporter").is_enabled  # the package's own, password-less unit


def test_exporters_reach_their_targets(host):
    server = _scrape(host, "redis")
    assert server["redis_up"] == "1", server.get("redis_up")
    assert any(name.startswith("redis_instance_info{") for name in server)
    sentinel = _scrape(host, "sentinel")
    assert sentinel["redis_up"] == "1" and sentinel["redis_sentinel_masters"] == "1"
    status = [name for name in sentinel if name.startswith("redis_sentinel_master_status{")]
    assert len(status) == 1 and 'master_name="%s"' % lab.master_name() in status[0], status
    assert sentinel[status[0]] == "1"
    node = _scrape(host, "node")
    assert node["node_textfile_scrape_error"] == "0"


def test_the_exporters_were_refused_nothing():
    """Everything the exporters send is granted: no ACL denial of their user from the node itself (127.0.0.1) in
    any server's or Sentinel's ACL LOG (the test below makes denials of its own, from the control machine)."""
    user = lab.group_vars().get("redis_ha_metrics_user", "redis_exporter")
    for ip in lab.node_ips().values():
        sentinel = lab.sentinel_client(ip, timeout=3)
        for log in (lab.redis_client(ip, timeout=3).execute_command("ACL", "LOG"),
                    sentinel.execute_command("ACL", "LOG")):
            entries = [{_text(k): _text(v) for k, v in (e.items() if isinstance(e, dict) else zip(e[0::2], e[1::2]))}
                       for e in log]
            refused = [e for e in entries if e["username"] == user and "addr=127.0.0.1:" in e["client-info"]]
            assert not refused, (ip, refused)


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def test_exporter_acl_users_allow_only_what_the_exporter_sends():
    """The server's user: INFO, no CONFIG GET (masterauth), no data; Sentinel's: SENTINEL MASTERS, no changes."""
    ip = lab.node_ips()[lab.nodes()[0]]
    user = lab.group_vars().get("redis_ha_metrics_user", "redis_exporter")
    server = redis.Redis(host=ip, port=lab.redis_port(), username=user, password=_metrics_password(),
                         socket_timeout=3, **lab.tls_kwargs())
    assert "role" in server.info("replication")
    for command in (["CONFIG", "GET", "masterauth"], ["GET", "x"], ["KEYS", "*"], ["CLIENT", "LIST"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            server.execute_command(*command)
    sentinel = redis.Redis(host=ip, port=lab.sentinel_port(), username=user, password=_metrics_password(),
                           socket_timeout=3, **lab.tls_kwargs())
    assert sentinel.execute_command("SENTINEL", "MASTERS")
    for command in (["SENTINEL", "RESET", "*"], ["SENTINEL", "SET", lab.master_name(), "quorum", "1"],
                    ["SENTINEL", "CONFIG", "GET", "*"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            sentinel.execute_command(*command)


def test_no_password_in_argv_or_in_the_exporters_journal(host):
    """The group's secrets (the exporters' password above all) are in no process's command line and in no line
    the exporters logged; their environment files are root's alone."""
    gv = lab.group_vars()
    secrets = [value for name, value in gv.items()
               if name.endswith("password") and isinstance(value, str) and len(value) >= 6]
    assert _metrics_password() in secrets
    argv = host.check_output("ps -eww -o args=")
    assert "prometheus-redis-exporter" in argv and "prometheus-node-exporter" in argv
    journal = host.check_output("journalctl --no-pager -o cat -u 'redis-ha-exporter@*' -u prometheus-node-exporter")
    assert "Providing metrics at" in journal  # the journal read is the exporters' own
    for secret in secrets:
        assert secret not in argv
        assert secret not in journal
    for target in ("redis", "sentinel"):
        env = host.file("/etc/redis-ha/exporter/%s.env" % target)
        assert env.user == "root" and env.mode == 0o600, (target, oct(env.mode))


def test_textfile_directory_is_writable_by_the_metrics_group(host):
    folder = host.file(TEXTFILE_DIR)
    assert folder.is_directory and folder.group == DEFAULTS["metrics_textfile_group"]
    assert folder.mode == 0o2775, oct(folder.mode)


def test_check_metrics_reach_node_exporter(host):
    """The VIP check's watcher writes its textfile (the keepalived role's side of redis_ha_metrics) and
    node_exporter serves it: the verdict with the group's master name, refreshed at least once a second."""
    node_name = host.backend.get_hostname()
    assert lab_prometheus.check_metrics_wired(node_name, DEFAULTS["metrics_textfile_group"])
    node = _scrape(host, "node")
    verdict = [name for name in node if name.startswith("redis_ha_check_verdict{")]
    # one verdict per group of the node, each with its group's master name (REDIS_HA_GROUPS: one textfile each)
    names = sorted('master_name="%s"' % lab.master_name(grp) for grp in [None] + lab.groups())
    assert sorted(next((n for n in names if n in v), v) for v in verdict) == names, verdict
    mtime = [float(v) for k, v in node.items() if k.startswith("node_textfile_mtime_seconds{") and "redis_ha_check" in k]
    assert mtime and time.time() - mtime[0] < 5, mtime


@pytest.mark.skipif(not lab_prometheus.enabled(), reason="the scenario's Prometheus runs on Debian 12 + Redis only")
def test_prometheus_scrapes_every_target_up():
    lab_prometheus.wait_ready()
    wanted = {(job, node) for job in PORTS for node in lab.nodes()}
    deadline = time.monotonic() + UP_BOUND_S
    while True:
        up = lab_prometheus.up_by_target()
        if set(up) == wanted and all(value == 1 for value in up.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(up) == wanted, up
    assert all(value == 1 for value in up.values()), up
    # the VIP check's own metrics through node_exporter: every node's verdict, exactly one VIP holder, and the one
    # promoting node is the one Sentinel's majority names (what the VIP alerts rest on)
    verdicts = {r["metric"]["instance"]: float(r["value"][1]) for r in lab_prometheus.query("redis_ha_check_verdict")}
    held = {r["metric"]["instance"]: float(r["value"][1]) for r in lab_prometheus.query("redis_ha_check_vip_held")}
    assert set(verdicts) == set(lab.nodes()) and set(held) == set(lab.nodes()), (verdicts, held)
    ips = lab.node_ips()
    named = {lab.sentinel_master(ip) for ip in ips.values()}
    master = [n for n, ip in ips.items() if named == {"%s:%d" % (ip, lab.redis_port())}]
    assert len(master) == 1, named
    assert [n for n, v in verdicts.items() if v == 1] == master, (verdicts, master)
    assert [n for n, v in held.items() if v == 1] == master == lab.vip_holders(), (held, master)
    if (ROOT / "prometheus" / "redis_ha.rules.yml").is_file():
        rules = yaml.safe_load((ROOT / "prometheus" / "redis_ha.rules.yml").read_text())
        shipped = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
        assert shipped and lab_prometheus.alert_rules() == shipped
