"""redis_config and sentinel_config converge settings at runtime through the daemons' own APIs.

The pure functions (normalisation, refusals) are tested in tests/unit/plugins/modules/test_config_modules_pure.py.
The behaviour is tested here against REAL
processes started for this file only (one redis-server with requirepass, one redis-sentinel monitoring it
with quorum 2, so it can never fail over): ONE ansible-playbook run at -vvv covers every case in order,
slurping the configuration files between tasks; the tests then read the results, the files on disk, the
daemons' live answers (CONFIG GET, SENTINEL MASTER) and the whole ansible output (no secret in it)."""

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import (  # noqa: E402
    ansible_playbook, call, pairs, run_playbook, slurped, start_redis, start_sentinel,
)

REDIS_PW = "rc-login-Qx7Lw2"
SENTINEL_PW = "sc-login-Jd4Vt9"
OLD_AUTH_PASS = "sc-oldauth-Mz3Rk8"  # the Sentinel's auth-pass at start (wrong on purpose)
MASTER = "confmaster"
# Secrets the play hands to the modules; none may ever show up in the ansible output or the results.
WRONG_LOGIN = "wrong-login-Hb6Np1"
MASTERAUTH = "masterauth-Vc9Ys5"
MISPLACED = "misplaced-Tg2Fe7"
UNSENT_AUTH = "unsent-auth-Lp8Dw3"
UNSAFE_AUTH = "unsafe auth-Kq5Zr4"
MISPLACED_S = "misplaced-s-Wn1Bc6"
SECRETS = [REDIS_PW, SENTINEL_PW, WRONG_LOGIN, MASTERAUTH, MISPLACED, UNSENT_AUTH, "auth-Kq5Zr4", MISPLACED_S]

FIRST = {"min-replicas-to-write": 1, "maxmemory": "100mb", "maxmemory-policy": "allkeys-lru",
         "save": [3600, 1, 300, 100], "lazyfree-lazy-eviction": True}
# The same values, spelled differently: must be recognised as unchanged.
RESPELLED = {"min-replicas-to-write": "1", "maxmemory": "102400KB", "maxmemory-policy": "ALLKEYS-LRU",
             "save": " 3600 1  300   100", "lazyfree-lazy-eviction": "YES"}

PLAYBOOK = """
- name: redis_config and sentinel_config against real daemons
  hosts: localhost
  gather_facts: false
  module_defaults:
    redis_ha.sentinel_vip.redis_config:
      login_port: "{{ redis_port }}"
      login_password: "{{ redis_pw }}"
    redis_ha.sentinel_vip.sentinel_config:
      login_port: "{{ sentinel_port }}"
      login_password: "{{ sentinel_pw }}"
      master_name: "{{ master }}"
  tasks:
    # ---------------------------------------------------------------- redis_config
    - name: r_check
      redis_ha.sentinel_vip.redis_config:
        settings: "{{ first }}"
      check_mode: true
      diff: true
      register: r_check
    - name: r_conf_after_check
      ansible.builtin.slurp:
        src: "{{ redis_conf }}"
      register: r_conf_after_check
    - name: r_apply
      redis_ha.sentinel_vip.redis_config:
        settings: "{{ first }}"
      diff: true
      register: r_apply
    - name: r_conf_after_apply
      ansible.builtin.slurp:
        src: "{{ redis_conf }}"
      register: r_conf_after_apply
    - name: r_again
      redis_ha.sentinel_vip.redis_config:
        settings: "{{ first }}"
      register: r_again
    - name: r_respelled
      redis_ha.sentinel_vip.redis_config:
        settings: "{{ respelled }}"
      register: r_respelled
    - name: r_units (check mode)
      redis_ha.sentinel_vip.redis_config:
        settings:
          maxmemory: "{{ item }}"
      check_mode: true
      loop: ["104857600", "104857600b", "0.1gb", "102400k", "100m"]
      register: r_units
      ignore_errors: true
    - name: r_owned
      redis_ha.sentinel_vip.redis_config:
        settings: "{{ item }}"
      loop:
        - {replicaof: "127.0.0.1 6399"}
        - {SlaveOf: "no one"}
      register: r_owned
      ignore_errors: true
    - name: r_immutable
      redis_ha.sentinel_vip.redis_config:
        settings:
          daemonize: true
          maxmemory-samples: 9
      register: r_immutable
      ignore_errors: true
    - name: r_unknown
      redis_ha.sentinel_vip.redis_config:
        settings:
          no-such-setting: 1
      register: r_unknown
      ignore_errors: true
    - name: r_wrong_password
      redis_ha.sentinel_vip.redis_config:
        login_password: "{{ wrong_login }}"
        settings:
          maxmemory-samples: 9
      register: r_wrong_password
      ignore_errors: true
    - name: r_secret
      redis_ha.sentinel_vip.redis_config:
        secret_settings:
          masterauth: "{{ masterauth }}"
      loop: [1, 2]
      diff: true
      register: r_secret
    - name: r_secret_misplaced
      redis_ha.sentinel_vip.redis_config:
        settings:
          masterauth: "{{ misplaced }}"
      register: r_secret_misplaced
      ignore_errors: true
    - name: r_clamped
      redis_ha.sentinel_vip.redis_config:
        settings:
          hz: 5000
      loop: [1, 2]
      register: r_clamped
    - name: r_no_rewrite
      redis_ha.sentinel_vip.redis_config:
        settings:
          maxmemory-eviction-tenacity: 20
        rewrite: false
      register: r_no_rewrite
    - name: r_conf_final
      ansible.builtin.slurp:
        src: "{{ redis_conf }}"
      register: r_conf_final
    # ---------------------------------------------------------------- sentinel_config
    - name: s_check
      redis_ha.sentinel_vip.sentinel_config:
        settings:
          down-after-milliseconds: 300000
          quorum: 3
      check_mode: true
      diff: true
      register: s_check
    - name: s_conf_after_check
      ansible.builtin.slurp:
        src: "{{ sentinel_conf }}"
      register: s_conf_after_check
    - name: s_apply
      redis_ha.sentinel_vip.sentinel_config:
        settings:
          down-after-milliseconds: "{{ item }}"
      loop: [300000, "300000"]
      diff: true
      register: s_apply
    - name: s_quorum
      redis_ha.sentinel_vip.sentinel_config:
        settings:
          quorum: 3
      loop: [1, 2]
      register: s_quorum
    - name: s_port_check
      redis_ha.sentinel_vip.sentinel_config:
        announce_port: "{{ sentinel_port }}"
      check_mode: true
      register: s_port_check
    - name: s_port
      redis_ha.sentinel_vip.sentinel_config:
        announce_port: "{{ item }}"
      loop: ["{{ sentinel_port }}", "{{ sentinel_port }}", 0]
      register: s_port
    - name: s_auth_not_sent
      redis_ha.sentinel_vip.sentinel_config:
        auth_pass: "{{ unsent_auth }}"
      register: s_auth_not_sent
    - name: s_auth_check
      redis_ha.sentinel_vip.sentinel_config:
        auth_pass: "{{ unsent_auth }}"
        update_password: always
      check_mode: true
      register: s_auth_check
    - name: s_conf_after_auth_check
      ansible.builtin.slurp:
        src: "{{ sentinel_conf }}"
      register: s_conf_after_auth_check
    - name: s_auth_always
      redis_ha.sentinel_vip.sentinel_config:
        auth_user: default
        auth_pass: "{{ redis_pw }}"
        update_password: always
      diff: true
      register: s_auth_always
    - name: s_refused
      redis_ha.sentinel_vip.sentinel_config:
        settings: "{{ lookup('ansible.builtin.vars', item.settings_var) if item.settings_var is defined
                      else item.settings | default({}) }}"
        auth_pass: "{{ lookup('ansible.builtin.vars', item.auth_pass_var) if item.auth_pass_var is defined
                       else omit }}"
        update_password: "{{ item.update_password | default(omit) }}"
        master_name: "{{ item.master_name | default(master) }}"
        login_password: "{{ lookup('ansible.builtin.vars', item.login_password_var | default('sentinel_pw')) }}"
      loop: "{{ sentinel_refusals }}"
      loop_control:
        label: "{{ item.label }}"
      register: s_refused
      ignore_errors: true
    - name: s_partial
      redis_ha.sentinel_vip.sentinel_config:
        settings:
          failover-timeout: 200000
          parallel-syncs: 0
      register: s_partial
      ignore_errors: true
    - name: Save the results
      ansible.builtin.copy:
        content: "{{ {'r_check': r_check, 'r_conf_after_check': r_conf_after_check, 'r_apply': r_apply,
                      'r_conf_after_apply': r_conf_after_apply, 'r_again': r_again, 'r_respelled': r_respelled,
                      'r_units': r_units.results, 'r_owned': r_owned.results, 'r_immutable': r_immutable,
                      'r_unknown': r_unknown, 'r_wrong_password': r_wrong_password, 'r_secret': r_secret.results,
                      'r_secret_misplaced': r_secret_misplaced, 'r_clamped': r_clamped.results,
                      'r_no_rewrite': r_no_rewrite, 'r_conf_final': r_conf_final,
                      's_check': s_check, 's_conf_after_check': s_conf_after_check, 's_apply': s_apply.results,
                      's_quorum': s_quorum.results, 's_auth_not_sent': s_auth_not_sent,
                      's_port_check': s_port_check, 's_port': s_port.results,
                      's_auth_check': s_auth_check, 's_conf_after_auth_check': s_conf_after_auth_check,
                      's_auth_always': s_auth_always, 's_refused': s_refused.results,
                      's_partial': s_partial} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""

# Secrets are named by variable (*_var), never written into an item: Ansible prints every loop item.
SENTINEL_REFUSALS = [
    {"label": "auth-pass in settings", "settings_var": "misplaced_settings"},
    {"label": "unsafe auth_pass", "auth_pass_var": "unsafe_auth", "update_password": "always"},
    {"label": "unknown master", "master_name": "no-such-master", "settings": {"quorum": 2}},
    {"label": "wrong password", "login_password_var": "wrong_login", "settings": {"quorum": 2}},
    {"label": "master address", "settings": {"ip": "10.0.0.1"}},
    {"label": "unreported field", "settings": {"master-reboot-down-after-period": 1000}},
    {"label": "unknown field", "settings": {"down-after": 1000}},
]


# --------------------------------------------------------------------------------------------------
# Real daemons, one ansible-playbook run
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not ansible_playbook():
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")
    tmp = tmp_path_factory.mktemp("confmod")
    redis = sentinel = None
    try:
        redis = start_redis(tmp / "redis", REDIS_PW)
        sentinel = start_sentinel(tmp / "sentinel", SENTINEL_PW, MASTER, redis.port, OLD_AUTH_PASS)
        pristine = {"redis": redis.conf.read_text(), "sentinel": sentinel.conf.read_text()}
        extra = {
            "redis_port": redis.port, "redis_pw": REDIS_PW, "redis_conf": str(redis.conf),
            "sentinel_port": sentinel.port, "sentinel_pw": SENTINEL_PW, "sentinel_conf": str(sentinel.conf),
            "master": MASTER, "first": FIRST, "respelled": RESPELLED, "wrong_login": WRONG_LOGIN,
            "masterauth": MASTERAUTH, "misplaced": MISPLACED, "unsent_auth": UNSENT_AUTH,
            "sentinel_refusals": SENTINEL_REFUSALS, "misplaced_settings": {"auth-pass": MISPLACED_S},
            "unsafe_auth": UNSAFE_AUTH, "out": str(tmp / "out.json"),
        }
        (tmp / "play").mkdir()
        proc, output = run_playbook(tmp / "play", PLAYBOOK, extra)
        assert proc.returncode == 0, output[-6000:]
        results = json.loads((tmp / "out.json").read_text())
        live = {
            "redis": pairs(call(redis.port, "CONFIG", "GET", "*", password=REDIS_PW)),
            "role": call(redis.port, "ROLE", password=REDIS_PW)[0],
            "sentinel": pairs(call(sentinel.port, "SENTINEL", "MASTER", MASTER, password=SENTINEL_PW)),
            "sentinel_port": sentinel.port,
            "sentinel_announce_port": pairs(call(sentinel.port, "SENTINEL", "CONFIG", "GET", "announce-port",
                                                 password=SENTINEL_PW))["announce-port"],
            "redis_conf": redis.conf.read_text(), "sentinel_conf": sentinel.conf.read_text(),
        }
        yield {"r": results, "out": output, "live": live, "pristine": pristine}
    finally:
        for proc in (sentinel, redis):
            if proc is not None:
                proc.terminate()


def conf_lines(text):
    return [line.strip() for line in text.splitlines()]


def test_redis_check_mode_reports_and_changes_nothing(run):
    r = run["r"]["r_check"]
    assert r["changed"] is True and not r.get("failed")
    assert set(r["changed_settings"]) == set(FIRST)
    assert r["changed_settings"]["maxmemory"] == {"before": "0", "after": "100mb"}
    assert r["changed_settings"]["lazyfree-lazy-eviction"] == {"before": "no", "after": "yes"}
    assert r["diff"]["before"]["min-replicas-to-write"] == "0"
    assert r["diff"]["after"]["save"] == "3600 1 300 100"
    assert r["rewritten"] is False
    assert slurped(run["r"]["r_conf_after_check"]) == run["pristine"]["redis"]
    # The real run that followed still found the original values: check mode set nothing.
    assert run["r"]["r_apply"]["changed_settings"]["min-replicas-to-write"]["before"] == "0"


def test_redis_apply_sets_and_rewrites_the_file(run):
    r = run["r"]["r_apply"]
    assert r["changed"] is True and r["rewritten"] is True
    assert r["changed_settings"]["maxmemory"] == {"before": "0", "after": "104857600"}
    assert r["changed_settings"]["save"] == {"before": "", "after": "3600 1 300 100"}
    assert r["diff"]["after"]["maxmemory-policy"] == "allkeys-lru"
    lines = conf_lines(slurped(run["r"]["r_conf_after_apply"]))
    for line in ("min-replicas-to-write 1", "maxmemory 100mb", "maxmemory-policy allkeys-lru",
                 "save 3600 1", "save 300 100", "lazyfree-lazy-eviction yes"):  # Redis: one line per pair
        assert line in lines, line
    assert 'save ""' not in lines
    live = run["live"]["redis"]
    assert (live["min-replicas-to-write"], live["maxmemory"]) == ("1", "104857600")


def test_redis_second_run_and_other_spellings_are_unchanged(run):
    for key in ("r_again", "r_respelled"):
        r = run["r"][key]
        assert r["changed"] is False, key
        assert r["changed_settings"] == {} and r["rewritten"] is False, key


def test_redis_unit_semantics_in_check_mode(run):
    units = {item["item"]: item for item in run["r"]["r_units"]}
    assert units["104857600"]["changed"] is False
    assert units["104857600b"]["changed"] is False
    assert units["0.1gb"]["changed"] is True          # not a Redis memory value: compared as text
    assert units["102400k"]["changed_settings"]["maxmemory"]["before"] == "104857600"  # k = 1000
    assert units["100m"]["changed"] is True            # m = 10^6
    assert run["live"]["redis"]["maxmemory"] == "104857600"


def test_redis_refuses_replication_settings(run):
    for item, name in zip(run["r"]["r_owned"], ("replicaof", "slaveof")):
        assert item["failed"] is True and item["changed"] is False
        assert "'%s' is owned by Redis Sentinel" % name in item["msg"]
    assert run["live"]["role"] == "master"
    assert "replicaof" not in run["live"]["redis_conf"] and "slaveof" not in run["live"]["redis_conf"]


def test_redis_immutable_setting_fails_with_redis_error_and_changes_nothing(run):
    r = run["r"]["r_immutable"]
    assert r["failed"] is True and r["changed"] is False
    assert "can't set immutable config" in r["msg"]
    assert r["setting"] == "daemonize" and "'daemonize'" in r["msg"]
    assert run["live"]["redis"]["maxmemory-samples"] == "5"   # CONFIG SET is atomic


def test_redis_unknown_setting_fails(run):
    r = run["r"]["r_unknown"]
    assert r["failed"] is True and "does not know the setting 'no-such-setting'" in r["msg"]


def test_redis_wrong_password_fails_cleanly(run):
    r = run["r"]["r_wrong_password"]
    assert r["failed"] is True and r["changed"] is False
    assert "authentication to Redis at 127.0.0.1:" in r["msg"] and "WRONGPASS" in r["msg"]
    assert "Traceback" not in json.dumps(r)


def test_redis_secret_settings_are_hidden_and_idempotent(run):
    first, second = run["r"]["r_secret"]
    assert first["changed"] is True
    assert first["changed_settings"] == {"masterauth": {"before": "(hidden)", "after": "(hidden)"}}
    assert second["changed"] is False
    assert run["live"]["redis"]["masterauth"] == MASTERAUTH
    assert 'masterauth "%s"' % MASTERAUTH in conf_lines(run["live"]["redis_conf"])
    misplaced = run["r"]["r_secret_misplaced"]
    assert misplaced["failed"] is True and "give it in secret_settings" in misplaced["msg"]
    assert run["live"]["redis"]["masterauth"] != MISPLACED


def test_redis_reports_only_what_redis_really_changed(run):
    first, second = run["r"]["r_clamped"]
    assert first["changed"] is True and first["changed_settings"]["hz"] == {"before": "10", "after": "500"}
    assert second["changed"] is False and second["changed_settings"] == {}
    # ansible-core 2.19 shows module warnings but does not keep them in registered loop results.
    assert "redis_config: hz is already '500'; Redis stores the wanted '5000' in that form" in run["out"]


def test_redis_rewrite_false_changes_runtime_only(run):
    r = run["r"]["r_no_rewrite"]
    assert r["changed"] is True and r["rewritten"] is False
    assert run["live"]["redis"]["maxmemory-eviction-tenacity"] == "20"
    assert "maxmemory-eviction-tenacity 20" not in conf_lines(slurped(run["r"]["r_conf_final"]))
    assert "maxmemory-eviction-tenacity 20" not in conf_lines(run["live"]["redis_conf"])


def test_sentinel_check_mode_reports_and_changes_nothing(run):
    r = run["r"]["s_check"]
    assert r["changed"] is True and r["master_name"] == MASTER
    assert r["changed_settings"] == {"down-after-milliseconds": {"before": "600000", "after": "300000"},
                                     "quorum": {"before": "2", "after": "3"}}
    assert r["diff"] == {"before": {"down-after-milliseconds": "600000", "quorum": "2"},
                         "after": {"down-after-milliseconds": "300000", "quorum": "3"}}
    lines = conf_lines(slurped(run["r"]["s_conf_after_check"]))
    assert "sentinel down-after-milliseconds %s 600000" % MASTER in lines
    assert run["r"]["s_apply"][0]["changed_settings"]["down-after-milliseconds"]["before"] == "600000"


def test_sentinel_down_after_is_applied_persisted_and_idempotent(run):
    first, second = run["r"]["s_apply"]
    assert first["changed"] is True
    assert first["changed_settings"] == {"down-after-milliseconds": {"before": "600000", "after": "300000"}}
    assert first["diff"]["after"] == {"down-after-milliseconds": "300000"}
    assert second["changed"] is False and second["changed_settings"] == {}
    assert run["live"]["sentinel"]["down-after-milliseconds"] == "300000"
    assert "sentinel down-after-milliseconds %s 300000" % MASTER in conf_lines(run["live"]["sentinel_conf"])


def test_sentinel_quorum_change(run):
    first, second = run["r"]["s_quorum"]
    assert first["changed"] is True and first["changed_settings"]["quorum"] == {"before": "2", "after": "3"}
    assert second["changed"] is False
    assert run["live"]["sentinel"]["quorum"] == "3"
    monitor = [line for line in conf_lines(run["live"]["sentinel_conf"]) if line.startswith("sentinel monitor ")]
    assert len(monitor) == 1 and monitor[0].split()[2] == MASTER and monitor[0].split()[-1] == "3"


def test_sentinel_announce_port_is_compared_set_and_reset(run):
    """announce_port: check mode reports without setting, a run sets it (Sentinel persists it), the next one
    finds it set, 0 gives the choice back to Sentinel."""
    port = str(run["live"]["sentinel_port"])
    check = run["r"]["s_port_check"]
    assert check["changed"] is True and check["changed_settings"] == {"announce-port": {"before": "0", "after": port}}
    first, second, reset = run["r"]["s_port"]
    assert first["changed"] is True and first["changed_settings"] == {"announce-port": {"before": "0", "after": port}}
    assert second["changed"] is False and second["changed_settings"] == {}
    assert reset["changed_settings"] == {"announce-port": {"before": port, "after": "0"}}
    assert run["live"]["sentinel_announce_port"] == "0"


def test_sentinel_password_is_sent_only_when_asked(run):
    not_sent = run["r"]["s_auth_not_sent"]
    assert not_sent["changed"] is False and not_sent["changed_settings"] == {}
    check = run["r"]["s_auth_check"]
    assert check["changed"] is True
    assert check["changed_settings"] == {"auth-pass": {"before": None, "after": "(hidden)"}}
    assert UNSENT_AUTH not in slurped(run["r"]["s_conf_after_auth_check"])
    always = run["r"]["s_auth_always"]
    assert always["changed"] is True
    assert always["changed_settings"] == {"auth-user": {"before": None, "after": "default"},
                                          "auth-pass": {"before": None, "after": "(hidden)"}}
    lines = conf_lines(run["live"]["sentinel_conf"])
    assert "sentinel auth-pass %s %s" % (MASTER, REDIS_PW) in lines
    assert "sentinel auth-user %s default" % MASTER in lines
    assert OLD_AUTH_PASS not in run["live"]["sentinel_conf"] and UNSENT_AUTH not in run["live"]["sentinel_conf"]


def test_sentinel_refusals(run):
    got = {item["item"]["label"]: item for item in run["r"]["s_refused"]}
    expected = {
        "auth-pass in settings": "auth_pass option",
        "unsafe auth_pass": "free of blanks",
        "unknown master": "No such master",
        "wrong password": "authentication to Sentinel at 127.0.0.1:",
        "master address": "owns the master address",
        "unknown field": "not a per-master setting",
    }
    reported = "master-reboot-down-after-period" in run["live"]["sentinel"]
    if not reported:  # Redis 7.0 does not report it in SENTINEL MASTER
        expected["unreported field"] = "does not report 'master-reboot-down-after-period'"
    for label, text in expected.items():
        assert got[label]["failed"] is True, label
        assert got[label]["changed"] is False, label
        assert text in got[label]["msg"], (label, got[label]["msg"])
    if reported:
        assert got["unreported field"]["changed"] is True
    assert "sentinel auth-pass %s %s" % (MASTER, REDIS_PW) in conf_lines(run["live"]["sentinel_conf"])


def test_sentinel_refusal_reports_fields_already_applied(run):
    r = run["r"]["s_partial"]
    assert r["failed"] is True and r["setting"] == "parallel-syncs"
    assert "Invalid argument" in r["msg"] and "already applied: failover-timeout" in r["msg"]
    assert r["changed"] is True
    assert r["changed_settings"] == {"failover-timeout": {"before": "600000", "after": "200000"}}
    assert run["live"]["sentinel"]["failover-timeout"] == "200000"
    assert run["live"]["sentinel"]["parallel-syncs"] == "1"


def test_no_secret_in_ansible_output(run):
    # -vvv prints every invocation (module_args) and result: secrets must appear masked only.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run["out"]
    dumped = json.dumps(run["r"])
    for secret in SECRETS:
        assert secret not in run["out"], secret
        assert secret not in dumped, secret


def test_no_no_log_warning(run):
    # Ansible warns about an option whose name looks secret (update_password) unless no_log is explicit.
    assert "update_password" in run["out"]
    assert "Module did not set no_log for" not in run["out"]


def test_action_group_sets_the_login_options(tmp_path):
    # meta/runtime.yml: module_defaults for group/redis_ha.sentinel_vip.redis reach redis_command.
    proc = start_redis(tmp_path / "group-redis", REDIS_PW)
    try:
        play = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/redis_ha.sentinel_vip.redis:
      login_port: "{{ port }}"
      login_password: "{{ password }}"
  tasks:
    - redis_ha.sentinel_vip.redis_command:
        command: [PING]
        read_only: true
      register: pong
    - ansible.builtin.assert:
        that: pong.reply == 'PONG'
"""
        result, out = run_playbook(tmp_path, play, {"port": proc.port, "password": REDIS_PW}, verbosity=None)
        assert result.returncode == 0, out[-3000:]
    finally:
        proc.terminate()
