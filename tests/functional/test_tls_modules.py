"""The roles' TLS pieces against REAL TLS-only redis-server / redis-sentinel processes (tls_helpers: client
certificates required): the login_tls* options of every module that connects (one ansible-playbook run), the
live reload of a re-issued certificate with CONFIG SET of the same path (the redis role's rotation), Sentinel's
refusal of CONFIG (why the sentinel role restarts Sentinels one at a time instead), and the configuration
validator on a TLS configuration (it must not listen on tls-port while checking)."""

import json
import socket
import ssl
import subprocess

import pytest

from confmod_helpers import ROOT, ansible_playbook, run_playbook
from tls_helpers import call, make_pki, reissue_server_certificate, start_tls_redis, start_tls_sentinels, tls_lines
from vipcheck_helpers import ADMIN_PW, CHECK_PW, CHECK_USER, REDIS_SERVER, SENTINEL_PW, free_port, vc

PLAYBOOK = """
- name: login_tls* of the modules
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/redis_ha.sentinel_vip.redis:
      login_port: "{{ redis_port }}"
      login_password: "{{ admin_pw }}"
  vars:
    tls_opts: &tls
      login_tls: true
      login_tls_ca_file: "{{ pki.ca }}"
      login_tls_cert_file: "{{ pki.client_cert }}"
      login_tls_key_file: "{{ pki.client_key }}"
  tasks:
    - name: redis_command over TLS with a client certificate
      redis_ha.sentinel_vip.redis_command:
        <<: *tls
        command: [ROLE]
        read_only: true
      register: r_role

    - name: redis_command over TLS without a client certificate (tls-auth-clients yes refuses it)
      redis_ha.sentinel_vip.redis_command:
        login_tls: true
        login_tls_ca_file: "{{ pki.ca }}"
        command: [PING]
        read_only: true
      register: r_no_cert
      ignore_errors: true

    - name: redis_command in plaintext on the TLS port
      redis_ha.sentinel_vip.redis_command:
        command: [PING]
        read_only: true
      register: r_plain
      ignore_errors: true

    - name: redis_config over TLS
      redis_ha.sentinel_vip.redis_config:
        <<: *tls
        settings:
          maxmemory-policy: allkeys-lru
      register: r_config

    - name: sentinel_config over TLS
      redis_ha.sentinel_vip.sentinel_config:
        <<: *tls
        login_port: "{{ sentinel_port }}"
        login_password: "{{ sentinel_pw }}"
        master_name: mymaster
        settings:
          quorum: 1
      register: r_sentinel

    - name: vip_check over TLS
      redis_ha.sentinel_vip.vip_check:
        <<: *tls
        redis_port: "{{ redis_port }}"
        redis_user: "{{ check_user }}"
        redis_password: "{{ check_pw }}"
        announce_host: 127.0.0.1
        master_name: mymaster
        sentinels: ["127.0.0.1:{{ sentinel_port }}"]
        sentinel_password: "{{ sentinel_pw }}"
        budget_ms: 3000
      register: r_check

    - name: redis_auth_check over TLS
      redis_ha.sentinel_vip.redis_auth_check:
        <<: *tls
        credentials:
          - {name: admin, port: "{{ redis_port }}", password: "{{ admin_pw }}"}
          - {name: wrong, port: "{{ redis_port }}", password: not-it}
      register: r_auth

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ {'role': r_role, 'no_cert': r_no_cert, 'plain': r_plain, 'config': r_config,
                      'sentinel': r_sentinel, 'check': r_check, 'auth': r_auth} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def tls_group(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls-modules")
    pki = make_pki(base / "pki")
    procs = []
    try:
        master = start_tls_redis(pki, base / "m")
        procs.append(master)
        sentinel = start_tls_sentinels(pki, base, master, 1, quorum=1)[0]
        procs.append(sentinel)
        yield {"base": base, "pki": pki, "master": master, "sentinel": sentinel}
    finally:
        for p in procs:
            p.terminate()


@pytest.fixture(scope="module")
def results(tls_group):
    if not ansible_playbook():
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")
    play = tls_group["base"] / "play"
    play.mkdir()
    out = tls_group["base"] / "out.json"
    proc, output = run_playbook(play, PLAYBOOK, {
        "pki": tls_group["pki"], "redis_port": tls_group["master"].port, "sentinel_port": tls_group["sentinel"].port,
        "admin_pw": ADMIN_PW, "sentinel_pw": SENTINEL_PW, "check_user": CHECK_USER, "check_pw": CHECK_PW,
        "out": str(out)}, verbosity="")
    assert proc.returncode == 0, output[-6000:]
    return json.loads(out.read_text())


def test_modules_connect_with_login_tls(results):
    assert results["role"]["reply"][0] == "master"
    assert results["config"]["changed"] is True and not results["config"].get("failed")
    assert results["sentinel"]["changed"] is False and not results["sentinel"].get("failed")
    assert results["check"]["verdict"] == "promote", results["check"]["reason"]
    assert results["check"]["answered"] == 1
    assert results["auth"]["accepted"] == ["admin"] and results["auth"]["refused"] == ["wrong"]


def test_modules_fail_without_client_certificate_or_in_plaintext(results):
    assert results["no_cert"]["failed"] is True, results["no_cert"]
    assert results["plain"]["failed"] is True, results["plain"]


def _served(pki, port):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    ctx.load_cert_chain(pki["client_cert"], pki["client_key"])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def test_config_set_of_the_same_path_loads_a_new_certificate_live(tls_group, results):  # after the modules
    pki, master = tls_group["pki"], tls_group["master"]
    old = _served(pki, master.port)
    new = reissue_server_certificate(pki)
    assert new != old
    assert _served(pki, master.port) == old  # not before the reload
    call(pki, master.port, "CONFIG", "SET", "tls-cert-file", pki["server_cert"], "tls-key-file", pki["server_key"],
         "tls-ca-cert-file", pki["ca"])
    assert _served(pki, master.port) == new
    assert master.popen.poll() is None  # no restart


def test_sentinel_has_no_config_set_so_the_role_restarts_it(tls_group):
    pki, sentinel = tls_group["pki"], tls_group["sentinel"]
    with pytest.raises(vc.RespError):  # an error reply (unknown command in Sentinel mode)
        call(pki, sentinel.port, "CONFIG", "SET", "tls-cert-file", pki["server_cert"], password=SENTINEL_PW)


def test_config_validator_checks_a_tls_configuration_without_listening(tmp_path, tls_group):
    pki = tls_group["pki"]
    port = free_port()
    good = tmp_path / "good.conf"
    good.write_text("\n".join(tls_lines(pki, port)) + "\n")
    check = [str(ROOT / "roles" / "redis" / "files" / "redis-config-check"), REDIS_SERVER]
    # a candidate that listened on its tls-port would run on and hit the timeout
    res = subprocess.run(check + [str(good)], capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 0, res.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text(good.read_text().replace(pki["server_key"], str(tmp_path / "missing.key")))
    res = subprocess.run(check + [str(bad)], capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 1, res.stderr
