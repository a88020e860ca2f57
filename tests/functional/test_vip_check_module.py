"""The Ansible module redis_ha.sentinel_vip.vip_check returns the same verdict as the track script.

One ansible-playbook run (implicit localhost, local connection) covers every case; the collection is
made visible through a temporary ANSIBLE_COLLECTIONS_PATH whose ansible_collections/redis_ha/sentinel_vip
is a symlink to this working tree, so the code under test is the checked-out one."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import (  # noqa: E402
    CHECK_PW, CHECK_USER, ROOT, SENTINEL_PW, base_cfg, run_check, sentinel_list, write_cfg,
)

OPTION_SECRET = "opt-secret-" + CHECK_PW  # wrong on purpose; must never be printed


def _ansible_playbook():
    candidate = pathlib.Path(sys.executable).parent / "ansible-playbook"
    if candidate.exists():
        return str(candidate)
    return shutil.which("ansible-playbook")


PLAYBOOK = """
- name: vip_check module cases
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Cases from config files (with optional overrides)
      redis_ha.sentinel_vip.vip_check:
        config_file: "{{ item.config_file }}"
        agreement: "{{ item.agreement | default(omit) }}"
      loop: "{{ cases }}"
      loop_control:
        label: "{{ item.name }}"
      register: by_file

    - name: Check mode gives the same answer
      redis_ha.sentinel_vip.vip_check:
        config_file: "{{ cases[0].config_file }}"
      check_mode: true
      register: in_check_mode

    - name: Everything as options, with a wrong password given as an option
      redis_ha.sentinel_vip.vip_check:
        redis_port: "{{ opt.redis_port }}"
        redis_user: "{{ opt.redis_user }}"
        redis_password: "{{ opt.redis_password }}"
        announce_host: 127.0.0.1
        master_name: mymaster
        sentinels: "{{ opt.sentinels }}"
        sentinel_password: "{{ opt.sentinel_password }}"
      register: by_options_wrong

    - name: Everything as options, right password
      redis_ha.sentinel_vip.vip_check:
        redis_port: "{{ opt.redis_port }}"
        redis_user: "{{ opt.redis_user }}"
        redis_password: "{{ opt.good_password }}"
        announce_host: 127.0.0.1
        master_name: mymaster
        sentinels: "{{ opt.sentinels }}"
        sentinel_password: "{{ opt.sentinel_password }}"
        budget_ms: 400
      register: by_options

    - name: A broken config file fails the task
      redis_ha.sentinel_vip.vip_check:
        config_file: "{{ bad_config }}"
      register: broken
      ignore_errors: true

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ {'by_file': by_file.results, 'check_mode': in_check_mode, 'options_wrong': by_options_wrong,
                      'options': by_options, 'broken': broken} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def module_run(cluster, tmp_path_factory):
    playbook_bin = _ansible_playbook()
    if not playbook_bin:
        pytest.skip("ansible-playbook is not installed next to this interpreter (make venv)")
    tmp = tmp_path_factory.mktemp("ansible")
    coll = tmp / "collections" / "ansible_collections" / "redis_ha"
    coll.mkdir(parents=True)
    (coll / "sentinel_vip").symlink_to(ROOT, target_is_directory=True)
    (tmp / "ansible.cfg").write_text("[defaults]\n")
    (tmp / "play.yml").write_text(PLAYBOOK)

    two_of_three = "%s 127.0.0.1:%d" % (sentinel_list([s.port for s in cluster.sentinels[:2]]), cluster.dead_port)
    cases = {
        "master": base_cfg(cluster),
        "replica": base_cfg(cluster, node=cluster.replica),
        "stale_master": base_cfg(cluster, node=cluster.stale),
        "refused": base_cfg(cluster, redis_port=cluster.dead_port, announce_port=cluster.master.port),
        "wrong_password": base_cfg(cluster, redis_password="wrong"),
        "two_of_three_majority": base_cfg(cluster, sentinels=two_of_three),
        "two_of_three_all": base_cfg(cluster, sentinels=two_of_three, agreement="all"),
    }
    files = {name: write_cfg(tmp / ("%s.conf" % name), **keys) for name, keys in cases.items()}
    # The override case: the file says majority, the module option says all.
    files["override_all"] = files["two_of_three_majority"]
    play_cases = [{"name": name, "config_file": str(path)} for name, path in files.items()]
    play_cases[-1]["agreement"] = "all"
    bad = write_cfg(tmp / "bad.conf", **dict(cases["master"], colour="blue"))
    extra = {
        "cases": play_cases,
        "out": str(tmp / "out.json"),
        "bad_config": str(bad),
        "opt": {"redis_port": cluster.master.port, "redis_user": CHECK_USER, "redis_password": OPTION_SECRET,
                "good_password": CHECK_PW, "sentinels": [sentinel_list([s.port]) for s in cluster.sentinels],
                "sentinel_password": SENTINEL_PW},
    }
    (tmp / "vars.json").write_text(json.dumps(extra))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"),
               ANSIBLE_HOME=str(tmp / "home"), ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run([playbook_bin, "-vvv", "-e", "@" + str(tmp / "vars.json"), str(tmp / "play.yml")],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((tmp / "out.json").read_text())
    script = {name: run_check(files[name])[0] for name in cases}
    script_override = run_check(files["two_of_three_all"])[0]
    script["override_all"] = script_override
    return {"results": results, "script": script, "stdout": proc.stdout + proc.stderr,
            "names": [c["name"] for c in play_cases]}


EXPECTED = {"master": 0, "replica": 1, "stale_master": 1, "refused": 1, "wrong_password": 1,
            "two_of_three_majority": 0, "two_of_three_all": 1, "override_all": 1}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_module_verdict_equals_script_verdict(module_run, case):
    idx = module_run["names"].index(case)
    res = module_run["results"]["by_file"][idx]
    assert res["changed"] is False
    assert not res.get("failed")
    assert module_run["script"][case] == EXPECTED[case]
    assert res["exit_code"] == module_run["script"][case]
    assert res["verdict"] == ("promote" if EXPECTED[case] == 0 else "demote")
    assert res["promote"] is (EXPECTED[case] == 0)
    assert res["reason"]


def test_module_reports_the_reasons(module_run, cluster):
    by_name = dict(zip(module_run["names"], module_run["results"]["by_file"]))
    master = by_name["master"]
    assert master["redis"]["role"] == "master"
    assert master["redis"]["replicas"][0]["address"] == "127.0.0.1:%d" % cluster.replica.port
    assert (master["agreeing"], master["required"], master["configured"], master["answered"]) == (3, 2, 3, 3)
    assert [s["status"] for s in master["sentinels"]] == ["agree"] * 3
    replica = by_name["replica"]
    assert replica["redis"]["role"] == "slave"
    assert replica["redis"]["link_status"] == "connected"
    assert isinstance(replica["redis"]["offset"], int)
    # The module waits for every Sentinel (complete report), unlike the script's early exit.
    assert [s["status"] for s in replica["sentinels"]] == ["other_master"] * 3
    assert by_name["refused"]["redis"]["status"] == "unreachable"
    assert by_name["override_all"]["agreement"] == "all"
    assert by_name["two_of_three_majority"]["sentinels"][2]["status"] == "unreachable"


def test_module_check_mode_and_options(module_run):
    r = module_run["results"]
    assert r["check_mode"]["verdict"] == "promote" and r["check_mode"]["changed"] is False
    assert r["options"]["verdict"] == "promote"
    assert r["options_wrong"]["verdict"] == "demote"
    assert r["options_wrong"]["redis"]["status"] == "auth_failed"


def test_module_config_error_fails_the_task(module_run):
    broken = module_run["results"]["broken"]
    assert broken["failed"] is True
    assert "unknown key" in broken["msg"]


def test_module_does_not_print_passwords(module_run):
    # -vvv prints each task's invocation (module_args): no_log options must show up masked there.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in module_run["stdout"]
    assert OPTION_SECRET not in module_run["stdout"]
    assert OPTION_SECRET not in json.dumps(module_run["results"])
