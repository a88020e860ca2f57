"""Password rotation through the modules (README, "Rotating secrets"), against a REAL redis-server and
redis-sentinel, in one ansible-playbook run whose steps are checked with redis_auth_check in between:

* redis_config acl_passwords: an ACL user accepts the new password beside the old one, then the new one only;
  idempotent; persisted by CONFIG REWRITE (a restarted server accepts only the new one); check mode changes
  nothing; an unknown user fails;
* sentinel_config passwords / sentinel_pass: Sentinel's own password the same way (ACL SETUSER default +
  SENTINEL FLUSHCONFIG: a restarted Sentinel accepts only the new one), sentinel-pass compared and idempotent;
* login_password_previous: redis_config, sentinel_config and redis_command log in with the previous password
  while the new one is refused.
"""

import json
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import ansible_playbook, call, pairs, run_playbook, start_redis, start_sentinel  # noqa: E402
from vipcheck_helpers import REDIS_SENTINEL, REDIS_SERVER  # noqa: E402

OLD_D, NEW_D = "rot-old-default-Gh3", "rot new default #$ Jk4"
OLD_A, NEW_A = "rot-old-app-Lm5", "rot new 'app' Np6"
OLD_S, NEW_S = "rot-old-sentinel-Qr7", "rot-new-sentinel-St8#$"
OTHER = "rot-other-Uv9"
SECRETS = [OLD_D, NEW_D, OLD_A, NEW_A, OLD_S, NEW_S, OTHER]
MASTER = "rotmaster"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    auth_redis: &auth_redis
      - {name: default_new, port: "{{ rport }}", password: "{{ new_d }}"}
      - {name: default_old, port: "{{ rport }}", password: "{{ old_d }}"}
      - {name: app_new, port: "{{ rport }}", user: app, password: "{{ new_a }}"}
      - {name: app_old, port: "{{ rport }}", user: app, password: "{{ old_a }}"}
    auth_sentinel:
      - {name: sentinel_new, port: "{{ sport }}", password: "{{ new_s }}"}
      - {name: sentinel_old, port: "{{ sport }}", password: "{{ old_s }}"}
  module_defaults:
    redis_ha.sentinel_vip.redis_config: {login_port: "{{ rport }}", login_password: "{{ new_d }}"}
    redis_ha.sentinel_vip.sentinel_config: {login_port: "{{ sport }}", login_password: "{{ new_s }}",
                                            master_name: "{{ master }}"}
  tasks:
    - name: add (logs in with the previous password)
      redis_ha.sentinel_vip.redis_config:
        login_password_previous: "{{ old_d }}"
        acl_passwords: {default: ["{{ new_d }}", "{{ old_d }}"], app: ["{{ new_a }}", "{{ old_a }}", ""]}
      register: add
    - {redis_ha.sentinel_vip.redis_auth_check: {credentials: *auth_redis}, register: after_add}
    - name: check mode
      redis_ha.sentinel_vip.redis_config:
        acl_passwords: {app: ["{{ other }}"]}
      check_mode: true
      register: checked
    - name: add again (unchanged, also after check mode)
      redis_ha.sentinel_vip.redis_config:
        acl_passwords: {default: ["{{ old_d }}", "{{ new_d }}"], app: ["{{ new_a }}", "{{ old_a }}"]}
      register: add_again
    - name: retire
      redis_ha.sentinel_vip.redis_config:
        acl_passwords: {default: ["{{ new_d }}", ""], app: ["{{ new_a }}"]}
      register: retire
    - {redis_ha.sentinel_vip.redis_auth_check: {credentials: *auth_redis}, register: after_retire}
    - name: retire again
      redis_ha.sentinel_vip.redis_config:
        acl_passwords: {default: ["{{ new_d }}"], app: ["{{ new_a }}"]}
      register: retire_again
    - name: unknown user
      redis_ha.sentinel_vip.redis_config:
        acl_passwords: {nobody: ["{{ new_a }}"]}
      register: unknown_user
      ignore_errors: true
    - name: redis_command with the previous password
      redis_ha.sentinel_vip.redis_command:
        login_port: "{{ rport }}"
        login_password: "{{ other }}"
        login_password_previous: "{{ new_d }}"
        command: [PING]
        read_only: true
      register: command_previous

    - name: sentinel add (logs in with the previous password)
      redis_ha.sentinel_vip.sentinel_config:
        login_password_previous: "{{ old_s }}"
        passwords: ["{{ new_s }}", "{{ old_s }}"]
      register: s_add
    - {redis_ha.sentinel_vip.redis_auth_check: {credentials: "{{ auth_sentinel }}"}, register: s_after_add}
    - name: sentinel-pass
      redis_ha.sentinel_vip.sentinel_config:
        sentinel_pass: "{{ new_s }}"
      register: s_pass
    - name: sentinel retire, sentinel-pass again
      redis_ha.sentinel_vip.sentinel_config:
        passwords: ["{{ new_s }}", ""]
        sentinel_pass: "{{ new_s }}"
      register: s_retire
    - {redis_ha.sentinel_vip.redis_auth_check: {credentials: "{{ auth_sentinel }}"}, register: s_after_retire}
    - name: sentinel again
      redis_ha.sentinel_vip.sentinel_config:
        passwords: ["{{ new_s }}"]
        sentinel_pass: "{{ new_s }}"
      register: s_again

    - ansible.builtin.copy:
        content: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      vars:
        names: [add, after_add, add_again, checked, retire, after_retire, retire_again, unknown_user, command_previous,
                s_add, s_after_add, s_pass, s_retire, s_after_retire, s_again]
"""


def _restart(proc, password):
    """Stop the daemon and start it again from the configuration file it rewrote."""
    proc.terminate()
    binary = REDIS_SENTINEL if proc.kind == "sentinel" else REDIS_SERVER
    proc.popen = subprocess.Popen([binary, str(proc.conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    return proc.wait_ready(password)


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    if not ansible_playbook():
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")
    tmp = tmp_path_factory.mktemp("rotation")
    procs = []
    try:
        redis = start_redis(tmp / "redis", OLD_D)
        procs.append(redis)
        call(redis.port, "ACL", "SETUSER", "app", "on", ">" + OLD_A, "-@all", "+ping", password=OLD_D)
        call(redis.port, "CONFIG", "REWRITE", password=OLD_D)
        sentinel = start_sentinel(tmp / "sentinel", OLD_S, MASTER, redis.port, OLD_D,
                                  extra=["sentinel sentinel-pass %s" % OLD_S])
        procs.append(sentinel)
        extra = {"rport": redis.port, "sport": sentinel.port, "master": MASTER, "old_d": OLD_D, "new_d": NEW_D,
                 "old_a": OLD_A, "new_a": NEW_A, "old_s": OLD_S, "new_s": NEW_S, "other": OTHER,
                 "out": str(tmp / "out.json")}
        (tmp / "play").mkdir()
        proc, output = run_playbook(tmp / "play", PLAYBOOK, extra)
        assert proc.returncode == 0, output[-6000:]
        yield json.loads((tmp / "out.json").read_text()), output, redis, sentinel
    finally:
        for p in procs:
            p.terminate()


def test_redis_users_accept_both_then_only_the_new_password(rotated):
    r, _, _, _ = rotated
    assert r["add"]["changed"] and sorted(r["add"]["changed_users"]) == ["app", "default"] and r["add"]["rewritten"]
    assert sorted(r["after_add"]["accepted"]) == ["app_new", "app_old", "default_new", "default_old"]
    assert not r["add_again"]["changed"], r["add_again"]
    assert r["retire"]["changed"] and sorted(r["retire"]["changed_users"]) == ["app", "default"]
    assert sorted(r["after_retire"]["accepted"]) == ["app_new", "default_new"]
    assert sorted(r["after_retire"]["refused"]) == ["app_old", "default_old"]
    assert not r["retire_again"]["changed"], r["retire_again"]


def test_redis_check_mode_changes_nothing(rotated):
    r, _, _, _ = rotated
    assert r["checked"]["changed"] and r["checked"]["changed_users"] == ["app"]
    assert not r["checked"]["rewritten"]
    assert not r["add_again"]["changed"]  # the next step found app's two passwords unchanged


def test_redis_unknown_user_fails(rotated):
    r, _, _, _ = rotated
    assert r["unknown_user"]["failed"] and "nobody" in r["unknown_user"]["msg"]


def test_previous_login_password(rotated):
    r, _, _, _ = rotated
    assert r["command_previous"]["reply"] == "PONG"


def test_redis_rotation_survives_a_restart(rotated):
    _, _, redis, _ = rotated
    text = redis.conf.read_text()
    assert OLD_A not in text and NEW_A not in text  # hashes only
    _restart(redis, NEW_D)
    assert call(redis.port, "ACL", "WHOAMI", password=NEW_D) == "default"
    with pytest.raises(Exception, match="WRONGPASS"):
        call(redis.port, "PING", password=OLD_D)


def test_sentinel_accepts_both_then_only_the_new_password(rotated):
    r, _, _, _ = rotated
    assert r["s_add"]["changed"] and "passwords" in r["s_add"]["changed_settings"]
    assert sorted(r["s_after_add"]["accepted"]) == ["sentinel_new", "sentinel_old"]
    assert r["s_pass"]["changed"] and list(r["s_pass"]["changed_settings"]) == ["sentinel-pass"]
    assert list(r["s_retire"]["changed_settings"]) == ["passwords"]  # sentinel-pass already new: unchanged
    assert r["s_after_retire"]["accepted"] == ["sentinel_new"] and r["s_after_retire"]["refused"] == ["sentinel_old"]
    assert not r["s_again"]["changed"], r["s_again"]


def test_sentinel_rotation_survives_a_restart(rotated):
    _, _, _, sentinel = rotated
    _restart(sentinel, NEW_S)
    with pytest.raises(Exception, match="WRONGPASS"):
        call(sentinel.port, "PING", password=OLD_S)
    assert pairs(call(sentinel.port, "SENTINEL", "CONFIG", "GET", "sentinel-pass", password=NEW_S)) == {
        "sentinel-pass": NEW_S}


def test_no_secret_in_the_output(rotated):
    _, output, _, _ = rotated
    for secret in SECRETS:
        assert secret not in output, "a password shows in the -vvv output"
