"""redis_ha.sentinel_vip.redis_auth_check against real daemons, in one ansible-playbook run (-vvv):
accepted / refused / unknown sorting, the preflight's rotation decision (a refused password whose previous
one is accepted is `rotating`; an accepted one whose previous is refused is `previous_refused`), and no password
in the output."""

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import Proc, ansible_playbook, call, free_port, run_playbook, start_redis, start_sentinel  # noqa: E402

REDIS_PW = "auth-check-admin-pw"
USER, USER_PW = "checker", "user pw with blanks"
SENTINEL_PW = "auth-check-sentinel-pw"
WRONG = "wrong-password-xyz"
NEW = "auth-check-new-pw"  # a rotation's new password, not known to the servers

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - redis_ha.sentinel_vip.redis_auth_check:
        credentials:
          - {name: good_default, port: "{{ redis_port }}", password: "{{ redis_pw }}"}
          - {name: good_user, port: "{{ redis_port }}", user: "{{ user }}", password: "{{ user_pw }}"}
          - {name: wrong_default, port: "{{ redis_port }}", password: "{{ wrong }}"}
          - {name: wrong_user, port: "{{ redis_port }}", user: "{{ user }}", password: "{{ wrong }}"}
          - {name: unknown_user, port: "{{ redis_port }}", user: nobody, password: "{{ user_pw }}"}
          - {name: good_sentinel, port: "{{ sentinel_port }}", password: "{{ sentinel_pw }}"}
          - {name: wrong_sentinel, port: "{{ sentinel_port }}", password: "{{ wrong }}"}
          - {name: no_password_set, port: "{{ open_port }}", password: "{{ wrong }}"}
          - {name: nobody_listens, port: "{{ dead_port }}", password: "{{ wrong }}"}
          # rotation: a new password with the previous one beside it (the preflight's decision)
          - {name: starting, port: "{{ redis_port }}", user: "{{ user }}", password: "{{ new }}", previous: "{{ user_pw }}"}
          - {name: starting_sentinel, port: "{{ sentinel_port }}", password: "{{ new }}", previous: "{{ sentinel_pw }}"}
          - {name: resumed, port: "{{ redis_port }}", password: "{{ redis_pw }}", previous: "{{ redis_pw }}"}
          - {name: bogus_previous, port: "{{ redis_port }}", password: "{{ redis_pw }}", previous: "{{ wrong }}"}
          - {name: both_wrong, port: "{{ redis_port }}", password: "{{ new }}", previous: "{{ wrong }}"}
          - {name: empty_previous, port: "{{ redis_port }}", password: "{{ new }}", previous: ""}
        timeout: 3
      register: r
    - ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    if not ansible_playbook():
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")
    tmp = tmp_path_factory.mktemp("authcheck")
    procs = []
    try:
        redis = start_redis(tmp / "redis", REDIS_PW)
        procs.append(redis)
        call(redis.port, "ACL", "SETUSER", USER, "on", ">" + USER_PW, "-@all", "+ping", password=REDIS_PW)
        sentinel = start_sentinel(tmp / "sentinel", SENTINEL_PW, "mymaster", redis.port, REDIS_PW)
        procs.append(sentinel)
        open_redis = Proc("redis", free_port(), tmp / "open", []).wait_ready(None)
        procs.append(open_redis)
        extra = {"redis_port": redis.port, "redis_pw": REDIS_PW, "user": USER, "user_pw": USER_PW, "wrong": WRONG, "new": NEW,
                 "sentinel_port": sentinel.port, "sentinel_pw": SENTINEL_PW, "open_port": open_redis.port,
                 "dead_port": free_port(), "out": str(tmp / "out.json")}
        (tmp / "play").mkdir()
        proc, output = run_playbook(tmp / "play", PLAYBOOK, extra)
        assert proc.returncode == 0, output[-6000:]
        yield json.loads((tmp / "out.json").read_text()), output
    finally:
        for p in procs:
            p.terminate()


def test_credentials_are_sorted_by_the_servers_answers(result):
    r, _ = result
    assert r["changed"] is False
    assert sorted(r["accepted"]) == ["bogus_previous", "good_default", "good_sentinel", "good_user", "resumed"]
    assert sorted(r["refused"]) == ["both_wrong", "empty_previous", "unknown_user", "wrong_default",
                                    "wrong_sentinel", "wrong_user"]
    assert sorted(r["unknown"]) == ["no_password_set", "nobody_listens"]
    assert "ERR" in r["unknown"]["no_password_set"]


def test_the_rotation_decision(result):
    r, _ = result
    assert sorted(r["rotating"]) == ["starting", "starting_sentinel"]
    assert r["previous_refused"] == ["bogus_previous"]


def test_no_password_in_the_output(result):
    _, output = result
    for secret in (REDIS_PW, USER_PW, SENTINEL_PW, WRONG, NEW):
        assert secret not in output
