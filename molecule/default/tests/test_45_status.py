"""playbooks/status.yml against the converged group (#26): the JSON and the table agree with what the lab tools see
(roles, Sentinel's master, VIP holder, the check's verdict, the exporters' units when redis_ha_metrics is on), and a
node that does not answer is a row 'unreachable' while the run succeeds. The extra node is a host of the group whose
container does not exist (a second inventory file): its connection fails as a stopped node's does, without stopping
one of the group (a real stopped node was shown on the drill lab, see the commit)."""

import importlib.util
import json
import pathlib

import drill
import lab
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
_SPEC = importlib.util.spec_from_file_location("status_table", ROOT / "plugins" / "filter" / "status_table.py")
STATUS_TABLE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(STATUS_TABLE)
ABSENT = "redis-ha-absent"
UNITS = ("redis-ha-exporter@redis.service", "redis-ha-exporter@sentinel.service", "prometheus-node-exporter.service")


@pytest.fixture(scope="module")
def status(tmp_path_factory):
    """One run (JSON to status_file; its table printed by the run's status_table filter too: the same call)."""
    tmp = tmp_path_factory.mktemp("status")
    (tmp / "absent.yml").write_text("redis_ha:\n  hosts:\n    %s:\n" % ABSENT)
    res = drill.ansible_playbook("status.yml", ["-i", str(tmp / "absent.yml"), "-e", "status_format=json",
                                                "-e", "status_file=%s" % (tmp / "status.json")], timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.loads((tmp / "status.json").read_text())
    return report, STATUS_TABLE.status_table(report)


def test_status_json_matches_the_group(status):
    report, _ = status
    rows = {row["node"]: row for row in report["nodes"]}
    assert list(rows) == lab.nodes() + [ABSENT]
    master = [n for n in lab.nodes() if lab.redis_role(lab.node_ip(n)) == "master"]
    assert len(master) == 1 and report["master"] == master[0]
    assert report["vip_holders"] == {lab.vip(): lab.vip_holders()} and lab.vip_holders() == master
    metrics = lab.group_vars().get("redis_ha_metrics") is True
    for name in lab.nodes():
        row = rows[name]
        info = lab.redis_client(lab.node_ip(name)).info("server")  # test_40 may have moved the group to Valkey
        assert row["reachable"] and row["engine"] == info.get("server_name", "redis"), row
        assert row["role"] == ("master" if name == master[0] else "replica"), row
        assert row["sentinel_master"] == master[0] and row["lag_bytes"] is not None, row
        assert row["check"] == ("promote" if name == master[0] else "demote"), row
        assert row["exporters"] == ({unit: "running" for unit in UNITS} if metrics else {}), row


def test_status_shows_a_node_that_does_not_answer(status):
    report, table = status
    absent = [row for row in report["nodes"] if row["node"] == ABSENT]
    assert absent and absent[0]["role"] == "unreachable" and not absent[0]["reachable"], absent
    row = [line.split()[:3] for line in table.splitlines() if line.startswith(ABSENT)]
    assert row == [[ABSENT, "-", "unreachable"]], table
    assert "VIP %s held by: %s" % (lab.vip(), lab.vip_holders()[0]) in table.splitlines()
