"""`ansible-test units` on the collection as built (the tarball unpacked as ansible_collections/redis_ha/sentinel_vip)
with tests/unit laid into it, offline, as ansible-test sanity runs in test_sanity.py.

tests/unit holds the pure unit tests only (no process, no network), in ansible-test's layout (tests/unit/plugins/...
mirrors plugins/); the tests against real redis-server / redis-sentinel processes and ansible-playbook are in
tests/functional (plain pytest). The tarball leaves tests out (galaxy.yml build_ignore), so they are copied into the
unpacked tree here. ansible-test makes a virtual environment of its own (--venv) and installs its unit-test
requirements (ansible_test/_data/requirements/units.txt and ansible.txt) there from the wheels `make venv` downloads
into .cache/wheels, with pip 24.2 from offline_get_pip.py, in a HOME of its own (offline_home.py): nothing
is fetched. ~15-25 s.
"""

import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

from offline_home import offline_home

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
HOME = ROOT / ".cache" / "ansible-test-home-units"
# ansible-test runs the tests of plugins/modules and plugins/module_utils as module tests, the rest as controller tests
GROUPS = ("modules", "module_utils", "controller")


def _unit_tests_in_checkout():
    """The node ids pytest collects from tests/unit of the checkout (what ansible-test must run, no fewer)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "tests/unit"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    ids = [line for line in out.stdout.splitlines() if line.startswith("tests/unit/") and "::" in line]
    assert out.returncode == 0 and ids, out.stdout[-3000:] + out.stderr[-3000:]
    return ids


def test_ansible_test_units(collection_tarball, tmp_path):
    tree = tmp_path / "ansible_collections" / "redis_ha" / "sentinel_vip"
    tree.mkdir(parents=True)
    with tarfile.open(collection_tarball) as tar:
        tar.extractall(tree, filter="data")
    assert not (tree / "tests" / "unit").exists(), "the tarball ships tests/unit"
    shutil.copytree(ROOT / "tests" / "unit", tree / "tests" / "unit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    offline_home(HOME, wheels=("pytest_xdist", "pytest_mock", "mock"))
    env = {"HOME": str(HOME), "PATH": "%s:/usr/bin:/bin" % BIN, "LC_ALL": "C.UTF-8"}
    result = subprocess.run([str(BIN / "ansible-test"), "units", "--venv", "--requirements", "--python", "3.11",
                             "--color", "no"], cwd=tree, env=env, capture_output=True, text=True, check=False,
                            timeout=900)
    output = result.stdout + result.stderr
    print(result.stdout[-8000:], result.stderr[-8000:])
    assert result.returncode == 0, "\n".join(line for line in output.splitlines()
                                             if line.startswith(("ERROR", "FATAL", "FAILED", "E ")))
    groups = re.findall(r"^Unit test (\S+) with Python 3\.11$", output, re.M)
    passed = [int(n) for n in re.findall(r"^=+ (\d+) passed in [\d.]+s =+$", output, re.M)]
    assert len(groups) == len(passed), "a group did not end with all tests passed: %s / %s" % (groups, passed)
    ran = dict(zip(groups, passed))
    assert sorted(ran) == sorted(GROUPS), "ansible-test units ran %s" % ran
    expected = _unit_tests_in_checkout()
    assert sum(ran.values()) == len(expected), "ansible-test ran %d unit tests, tests/unit holds %d: %s" % (
        sum(ran.values()), len(expected), ran)
