"""The collection's node-side code on the managed nodes' own Python: 3.11 (Debian 12) and 3.13 (Debian 13),
in the locally built images redis-ha/debian12 and redis-ha/debian13 (make image), with no network.

ansible-test sanity covers 3.11 only here (the controller's Python; no 3.13 on a Debian 12 host). In each
image: every Python file of plugins/ byte-compiles with warnings as errors (3.12+ warns on what will break),
the check's launcher runs as keepalived runs it (python3 -IS, its package beside it) and answers "do not hold
the VIP" (exit 1) for a Redis and Sentinels that refuse connections, and every module of the collection runs
through Ansible on the node (docker connection), with each ansible-core of the matrix, and fails cleanly on a
refused port: no traceback."""

import json
import os
import re
import pathlib
import shutil
import subprocess
import sys
import uuid

import pytest

from support_matrix import ANSIBLE_CORE

BIN = pathlib.Path(sys.executable).parent
IMAGES = {"3.11": "redis-ha/debian12:latest", "3.13": "redis-ha/debian13:latest"}
REFUSED = {"login_host": "127.0.0.1", "login_port": 1}
MODULES = {
    "redis_command": dict(REFUSED, command=["PING"]),
    "redis_config": dict(REFUSED, settings={"maxmemory": "1mb"}),
    "sentinel_config": dict(REFUSED, master_name="m", settings={"quorum": 2}),
    "redis_auth_check": {"credentials": [{"name": "a", "port": 1, "password": "p"}]},
    "redis_switchover": {"sentinels": ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], "redis_port": 1},
    "vip_check": {"redis_host": "127.0.0.1", "redis_port": 1, "announce_host": "127.0.0.1", "announce_port": 1,
                  "master_name": "m", "sentinels": ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]},
}
# What each module answers there (the switchover reads the Sentinels' refusals as no majority).
EXPECTED = dict.fromkeys(MODULES, "connection ?refused") | {"redis_switchover": "no majority of the Sentinels"}
CHECK_CONF = ("redis_host=127.0.0.1\nredis_port=1\nannounce_host=127.0.0.1\nannounce_port=1\nmaster_name=m\n"
              "sentinels=127.0.0.1:1 127.0.0.1:2 127.0.0.1:3\nagreement=majority\nbudget_ms=300\nwatch_ms=0\n"
              "state_file=/tmp/verdict\n")
COMPILE = ("import pathlib, py_compile, sys\n"
           "files = sorted(pathlib.Path('/c/plugins').rglob('*.py'))\n"
           "[py_compile.compile(str(f), cfile='/tmp/x.pyc', doraise=True) for f in files]\n"
           "print(sys.version_info[:2], len(files))\n")


def _docker(*args, timeout=120):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def nodes(collection_tree):
    """{python version: container name}: a container of each image, no network, the collection in /c."""
    if shutil.which("docker") is None or _docker("image", "inspect", *IMAGES.values()).returncode:
        if os.environ.get("REDIS_HA_SUITE_STARTED"):  # make test builds the images first
            pytest.fail("no %s (make image)" % " or ".join(IMAGES.values()))
        pytest.skip("no %s: make image" % " or ".join(IMAGES.values()))
    names = {}
    try:
        for version, image in IMAGES.items():
            names[version] = "redis-ha-lint-py%s-%s" % (version.replace(".", ""), uuid.uuid4().hex[:6])
            started = _docker("run", "-d", "--rm", "--network", "none", "--name", names[version], "--entrypoint",
                              "sleep", "-v", "%s:/c:ro" % collection_tree, image, "600")
            assert started.returncode == 0, started.stderr
        yield names
    finally:
        _docker("rm", "-f", *names.values())


@pytest.mark.parametrize("version", sorted(IMAGES))
def test_plugins_compile_with_warnings_as_errors(nodes, version):
    result = _docker("exec", nodes[version], "python3", "-W", "error", "-c", COMPILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("(%s, %s)" % tuple(version.split("."))), result.stdout


@pytest.mark.parametrize("version", sorted(IMAGES))
def test_check_launcher_runs_as_keepalived_runs_it(nodes, version):
    setup = ("mkdir -p /tmp/vc && cp /c/roles/keepalived/files/vip_check.py /tmp/vc/ && "
             "cp -r /c/plugins/module_utils/_vipcheck /tmp/vc/redis_vip_check && printf '%s' > /tmp/vc/check.conf"
             % CHECK_CONF)
    assert _docker("exec", nodes[version], "sh", "-c", setup).returncode == 0
    result = _docker("exec", nodes[version], "/usr/bin/python3", "-IS", "/tmp/vc/vip_check.py", "/tmp/vc/check.conf")
    assert result.returncode == 1, (result.returncode, result.stdout + result.stderr)
    assert "Traceback" not in result.stdout + result.stderr


def _play(tmp_path, hosts, installed_collections, bin_dir):
    """Run every module once on each node (one play, the nodes in parallel) with the ansible-playbook of
    bin_dir; {host: {module: result}}."""
    tasks = [{"name": module, "redis_ha.sentinel_vip." + module: args, "register": module, "ignore_errors": True}
             for module, args in MODULES.items()]
    tasks.append({"name": "results", "ansible.builtin.debug": {"msg": {m: "{{ %s }}" % m for m in MODULES}}})
    play = [{"name": "modules", "hosts": "all", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "HOME": str(tmp_path), "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (installed_collections, bin_dir.parent / "lib/python3.11/site-packages"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    run = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", ",".join(hosts) + ",", "-c", "community.docker.docker",
                          "-e", "ansible_python_interpreter=/usr/bin/python3", "play.yml"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {host: result["msg"] for host, result in json.loads(run.stdout)["plays"][0]["tasks"][-1]["hosts"].items()}


@pytest.mark.parametrize("core", sorted(ANSIBLE_CORE))
def test_modules_run_on_the_node_python(nodes, installed_collections, tmp_path, core):
    """Each module through each ansible-core of the matrix (its AnsiballZ) on each node Python."""
    for host, results in _play(tmp_path, list(nodes.values()), installed_collections, ANSIBLE_CORE[core]).items():
        assert set(results) == set(MODULES), host
        for module, result in results.items():
            text = json.dumps(result)
            assert re.search(EXPECTED[module], text, re.I), (host, module, result)
            assert "MODULE FAILURE" not in text and "Traceback" not in text, (host, module, result)
