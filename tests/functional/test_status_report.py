"""playbooks/status.yml against real Redis, Sentinel and VIP-check processes on this machine (the session's
cluster: a master, its replica, three Sentinels): two nodes on the local connection, a third whose SSH port
refuses (shown as unreachable, the run does not fail); the JSON written to status_file and its table."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import run_playbook  # noqa: E402
from vipcheck_helpers import ADMIN_PW, ROOT, base_cfg, write_cfg  # noqa: E402


def _filter(name):
    """plugins/filter/<name>.py of the working tree (its functions are plain Python)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "plugins" / "filter" / ("%s.py" % name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAY = "- name: The status view\n  ansible.builtin.import_playbook: %s\n" % (ROOT / "playbooks" / "status.yml")
NOT_HELD = "203.0.113.100"


def _local_address():
    """An IPv4 address of this machine that is not loopback (stands for a VIP the nodes hold)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[out.index("inet") + 1].split("/")[0]


def _inventory(cluster, tmp):
    held = _local_address()
    hosts = {}
    for name, node, sentinel in (("n1", cluster.master, 0), ("n2", cluster.replica, 1)):
        config = write_cfg(tmp / ("%s.conf" % name), **base_cfg(cluster, node=node))
        hosts[name] = {"redis_ha_redis_port": node.port, "redis_ha_sentinel_port": cluster.sentinels[sentinel].port,
                       "status_check_config": str(config)}
    hosts["n3"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": cluster.dead_port}
    group_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
                  "redis_ha_announce_ip": "127.0.0.1", "redis_admin_user": "default", "redis_admin_password": ADMIN_PW,
                  "redis_ha_vips": ["%s/24" % NOT_HELD, "%s/32" % held]}
    path = tmp / "hosts.yml"
    path.write_text(yaml.safe_dump({"redis_ha": {"hosts": hosts, "vars": group_vars}}))
    return path, held


@pytest.fixture(scope="module")
def status(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status")
    inventory, held = _inventory(cluster, tmp)
    out = tmp / "status.json"
    proc, output = run_playbook(tmp, PLAY, {"status_format": "json", "status_file": str(out)}, verbosity="",
                                inventory=inventory)
    assert proc.returncode == 0, output[-4000:]
    report = json.loads(out.read_text())
    # The table of the same report (the playbook's table branch is this filter on the same report).
    return report, _filter("status_table").status_table(report), held


def test_json_names_roles_master_and_lag(status):
    report, _, held = status
    rows = {row["node"]: row for row in report["nodes"]}
    assert report["master"] == "n1"
    assert rows["n1"]["role"] == "master" and rows["n2"]["role"] == "replica"
    assert rows["n1"]["sentinel_master"] == rows["n2"]["sentinel_master"] == "n1"
    assert rows["n1"]["engine"] == "redis" and rows["n1"]["version"][0].isdigit()
    assert rows["n1"]["lag_bytes"] == 0 and isinstance(rows["n2"]["lag_bytes"], int) and rows["n2"]["lag_bytes"] >= 0
    assert (rows["n1"]["check"], rows["n2"]["check"]) == ("promote", "demote")
    assert "is master" in rows["n1"]["reason"]
    assert report["vip_holders"] == {NOT_HELD: [], held: ["n1", "n2"]}


def test_unreachable_node_is_shown_not_fatal(status):
    report, table, _ = status
    n3 = [row for row in report["nodes"] if row["node"] == "n3"]
    assert n3 and (n3[0]["reachable"], n3[0]["role"], n3[0]["check"], n3[0]["lag_bytes"]) == (False, "unreachable",
                                                                                              None, None)
    line = [line for line in table.splitlines() if line.startswith("n3 ")]
    assert line and line[0].split()[:3] == ["n3", "-", "unreachable"]


def test_table_rows_and_summary(status):
    _, table, held = status
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["node", "engine", "role"]
    n1 = [line for line in lines if line.startswith("n1 ")][0].split()
    assert n1[1] == "redis" and n1[3] == "master" and n1[4] == "n1"
    assert "Sentinel's master: n1" in lines
    assert "VIP %s held by: nobody" % NOT_HELD in lines and "VIP %s held by: n1, n2" % held in lines


def test_exporter_units_are_the_exporters_only():
    report = _filter("status_report")
    services = {"redis-ha-exporter@redis.service": {"state": "running", "status": "enabled"},
                "prometheus-node-exporter.service": {"state": "stopped", "status": "enabled"},
                "prometheus-redis-exporter.service": {"state": "stopped", "status": "disabled"},  # the package's own
                "prometheus-node-exporter-apt.service": {"state": "stopped", "status": "static"},  # a collector
                "redis-server.service": {"state": "running", "status": "enabled"}}
    assert report._exporters({"ansible_facts": {"services": services}}) == {  # pylint: disable=protected-access
        "prometheus-node-exporter.service": "stopped", "redis-ha-exporter@redis.service": "running"}
