"""node_state and managed_file (issue 24: a no-op site.yml run without a call to the node per file), run through
ansible-playbook on this machine against real files: the first run writes, a second run answers every file from
the node_state reading without running anything on the node, a file changed behind Ansible's back (content, mode,
removed) is put back and reported changed, force=false leaves an existing file alone, check mode changes
nothing."""

import json
import pathlib
import os
import re
import stat

from confmod_helpers import run_playbook

PLAY = """
- hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - name: read
      redis_ha.sentinel_vip.node_state:
        paths: ["{{ base }}/etc", "{{ base }}/gone"]
        packages: [dpkg, no-such-package-here]
        units: [no-such-unit-here.service]
        users: [root, no-such-user-here]
        groups: [root, no-such-group-here]
        contents: [/proc/sys/vm/overcommit_memory, "{{ base }}/no-such-file-here"]
      register: known
    - name: state
      ansible.builtin.copy:
        content: "{{ known | to_json }}"
        dest: "{{ base }}/known.json"
        mode: "0600"
    - name: dir
      redis_ha.sentinel_vip.managed_file:
        using: file
        known: "{{ known }}"
        path: "{{ base }}/etc/sub"
        state: directory
        mode: "0750"
    - name: rendered
      redis_ha.sentinel_vip.managed_file:
        using: template
        known: "{{ known }}"
        src: "{{ base }}/conf.j2"
        dest: "{{ base }}/etc/rendered.conf"
        mode: "0640"
    - name: copied
      redis_ha.sentinel_vip.managed_file:
        using: copy
        known: "{{ known }}"
        content: "value {{ value }}\\n"
        dest: "{{ base }}/etc/copied.conf"
        mode: "0644"
    - name: once
      redis_ha.sentinel_vip.managed_file:
        using: copy
        known: "{{ known }}"
        content: "value {{ value }}\\n"
        dest: "{{ base }}/etc/once.conf"
        force: false
        mode: "0600"
    - name: gone
      redis_ha.sentinel_vip.managed_file:
        using: file
        known: "{{ known }}"
        path: "{{ base }}/gone"
        state: absent
"""
TASKS = ("dir", "rendered", "copied", "once", "gone")


def run(tmp_path, value="1", check=False):
    base = tmp_path / "node"
    base.mkdir(exist_ok=True)
    (base / "etc").mkdir(exist_ok=True)
    (base / "conf.j2").write_text("# {{ ansible_managed }}\nkey {{ value }}\n{% if value %}set{% endif %}\n")
    workdir = tmp_path / ("run-%s" % len(list(tmp_path.glob("run-*"))))
    workdir.mkdir()
    play = PLAY.replace("- hosts: localhost", "- hosts: localhost\n  check_mode: %s" % ("true" if check else "false"))
    proc, out = run_playbook(workdir, play, {"base": str(base), "value": value})
    assert proc.returncode == 0, out[-4000:]
    return base, per_task(out)


def per_task(out):
    """Per task name: (changed, answered from node_state, commands run on the node)."""
    found = {}
    for block in re.split(r"\nTASK \[", out)[1:]:
        name = block.split("]", 1)[0]
        found[name] = ("changed: [localhost]" in block, "already as wanted (node_state)" in block,
                       len(re.findall(r"<127\.0\.0\.1> EXEC", block)))
    return found


def test_second_run_answers_every_file_without_a_call_to_the_node(tmp_path):
    base, first = run(tmp_path)
    assert all(first[name][0] for name in ("dir", "rendered", "copied", "once")), first
    assert (base / "etc" / "rendered.conf").read_text() == "# Ansible managed\nkey 1\nset\n"
    assert stat.S_IMODE(os.stat(base / "etc" / "rendered.conf").st_mode) == 0o640
    _, second = run(tmp_path)
    for name in TASKS:
        changed, known, calls = second[name]
        assert not changed and known and calls == 0, (name, second[name])
    assert second["read"][2] >= 1  # the reading itself is the one call
    state = json.loads((base / "known.json").read_text())
    assert state["packages"]["dpkg"] and state["packages"]["no-such-package-here"] == ""
    assert state["units"]["no-such-unit-here.service"]["active"] in ("inactive", "")
    assert "root" in state["users"] and "no-such-user-here" not in state["users"]
    assert "root" in state["groups"] and "no-such-group-here" not in state["groups"]
    assert state["files"][str(base / "gone")] == {"type": "absent"}
    with open("/proc/sys/vm/overcommit_memory", encoding="ascii") as handle:  # what the redis role's tuning reads
        assert state["contents"] == {"/proc/sys/vm/overcommit_memory": handle.read().rstrip("\n")}


def test_a_file_changed_on_the_node_is_put_back(tmp_path):
    base, _ = run(tmp_path)
    (base / "etc" / "rendered.conf").write_text("edited\n")
    os.chmod(base / "etc" / "copied.conf", 0o600)
    os.chmod(base / "etc" / "sub", 0o755)
    (base / "gone").write_text("back\n")
    (base / "etc" / "once.conf").write_text("edited once\n")
    _, again = run(tmp_path)
    for name in ("rendered", "copied", "dir", "gone"):
        assert again[name][0] and not again[name][1], (name, again[name])
    assert (base / "etc" / "rendered.conf").read_text() == "# Ansible managed\nkey 1\nset\n"
    assert stat.S_IMODE(os.stat(base / "etc" / "copied.conf").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(base / "etc" / "sub").st_mode) == 0o750
    assert not (base / "gone").exists()
    assert (base / "etc" / "once.conf").read_text() == "edited once\n" and not again["once"][0]


def test_new_content_is_written_and_check_mode_changes_nothing(tmp_path):
    base, _ = run(tmp_path)
    _, checked = run(tmp_path, value="2", check=True)
    assert checked["rendered"][0] and checked["copied"][0], checked
    assert (base / "etc" / "copied.conf").read_text() == "value 1\n"
    _, changed = run(tmp_path, value="2")
    assert changed["rendered"][0] and changed["copied"][0] and not changed["once"][0], changed
    assert (base / "etc" / "copied.conf").read_text() == "value 2\n"


PACKAGE_PLAY = """
- hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - name: read
      redis_ha.sentinel_vip.node_state:
        paths: ["{{ dest }}"]
      register: known
    - name: package
      redis_ha.sentinel_vip.managed_files:
        files: "{{ outdated }}"
        mode: "0644"
      vars:
        outdated: "{{ known | redis_ha.sentinel_vip.vipcheck_outdated(dest, content=true) }}"
      when: outdated | length > 0
"""


def test_the_checks_package_is_written_in_one_call_and_not_called_when_installed(tmp_path):
    """managed_files with vipcheck_outdated(content=true), as the roles install the check's package: a fresh
    directory gets every file in one call; a second run does not call the node; a changed, a loosened and a
    removed file are put back in one call."""
    dest = tmp_path / "redis_vip_check"
    dest.mkdir()
    sources = sorted((pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "_vipcheck")
                     .glob("*.py"))

    def converge():
        workdir = tmp_path / ("run-%s" % len(list(tmp_path.glob("run-*"))))
        workdir.mkdir()
        proc, out = run_playbook(workdir, PACKAGE_PLAY, {"dest": str(dest)})
        assert proc.returncode == 0, out[-4000:]
        changed, _, calls = per_task(out)["package"]
        # the module's run (not its chmod): any interpreter name (python3, python3.11, the venv's python)
        runs = len(re.findall(r"EXEC .*/python[0-9.]* \S*AnsiballZ_managed_files\.py", out))
        return (changed, calls, runs), out

    (changed, _, runs), _ = converge()
    assert changed and runs == 1
    for src in sources:
        assert (dest / src.name).read_bytes() == src.read_bytes()
        assert stat.S_IMODE(os.stat(dest / src.name).st_mode) == 0o644
    (changed, calls, _), out = converge()
    assert not changed and calls == 0 and "skipping: [localhost]" in out.split("TASK [package]")[1]
    (dest / sources[0].name).write_text("# edited on the node\n")
    os.chmod(dest / sources[1].name, 0o666)
    (dest / sources[2].name).unlink()
    (changed, _, runs), out = converge()
    assert changed and runs == 1, out[-3000:]
    assert all((dest / src.name).read_bytes() == src.read_bytes() for src in sources[:3])
    assert stat.S_IMODE(os.stat(dest / sources[1].name).st_mode) == 0o644
    written = re.search(r'"written": \[([^\]]*)\]', out).group(1)
    assert sorted(re.findall(r'"([^"]+)"', written)) == sorted(str(dest / src.name) for src in (sources[0], sources[2]))
