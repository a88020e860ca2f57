"""Generated certificates are issued again before they expire: the redis role's tasks/tls.yml (the controller's
community.crypto tasks and the copy to the node) run by ansible-playbook on this machine, with the working tree as
the collection. A node certificate valid for less than redis_tls_renew_days is re-issued and installed; one valid
for longer is left alone (a re-run changes nothing). Time passing is played by a renewal window longer than the
certificate's remaining validity."""

import re

import pytest

from confmod_helpers import ansible_playbook, run_playbook

PLAY = """
- hosts: localhost
  gather_facts: true
  tasks:
    - ansible.builtin.include_role:
        name: redis_ha.sentinel_vip.redis
        tasks_from: tls
    - ansible.builtin.debug:
        msg: "ROTATED={{ _common_tls_rotated | bool | to_json }}"
"""


@pytest.fixture(scope="module", autouse=True)
def _ansible():
    if not ansible_playbook():
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")


def _run(tmp, ca_dir, node_dir, cert_days, renew_days):
    extra = {"redis_tls": True, "redis_tls_certificates": "generate", "redis_tls_ca_dir": str(ca_dir),
             "redis_tls_dir": str(node_dir), "redis_group": "unit", "redis_announce_ip": "127.0.0.1",
             "redis_vips": ["192.0.2.10"], "redis_tls_cert_days": cert_days, "redis_tls_renew_days": renew_days}
    proc, out = run_playbook(tmp, PLAY, extra, verbosity="")
    assert proc.returncode == 0, out[-4000:]
    return re.search(r"ROTATED=(true|false)", out).group(1) == "true"


def test_a_certificate_due_for_renewal_is_issued_again_and_installed(tmp_path):
    ca_dir, node_dir = tmp_path / "ca", tmp_path / "node"
    (tmp_path / "r1").mkdir()
    _run(tmp_path / "r1", ca_dir, node_dir, cert_days=400, renew_days=30)
    first = (ca_dir / "localhost.crt").read_bytes()
    assert (node_dir / "node.crt").read_bytes().strip() == first.strip()
    # 400 days left, renewal 500 days before expiry: due, issued again and installed on the node
    (tmp_path / "r2").mkdir()
    assert _run(tmp_path / "r2", ca_dir, node_dir, cert_days=400, renew_days=500) is True
    second = (ca_dir / "localhost.crt").read_bytes()
    assert second != first
    assert (node_dir / "node.crt").read_bytes().strip() == second.strip()
    # renewal 30 days before expiry: not due, nothing changes
    (tmp_path / "r3").mkdir()
    assert _run(tmp_path / "r3", ca_dir, node_dir, cert_days=400, renew_days=30) is False
    assert (ca_dir / "localhost.crt").read_bytes() == second
