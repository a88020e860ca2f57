"""`ansible-test sanity` on the collection as built (the tarball unpacked as ansible_collections/redis_ha/
sentinel_vip), offline, with each ansible-core of the support matrix (tests/lint/matrix.py).

ansible-test runs each sanity test in a virtual environment of its own, with the exact versions its
requirement files pin (ansible_test/_data/requirements/sanity.*.txt of the pinned ansible-core). `make
venv` downloads those wheels, and pip 24.2 that ansible-test bootstraps, into .cache/wheels. Here
ansible-test gets a HOME of its own (it passes no other variable on) where pip's configuration allows only
that directory (no-index) and offline_get_pip.py stands in for the get-pip.py it would download. It keeps
its virtual environments there, so a second run does not build them again.
"""

import pathlib
import shutil
import subprocess

import pytest

from support_matrix import ANSIBLE_CORE, ROOT

WHEELS = ROOT / ".cache" / "wheels"
PIP_VERSION = "24.2"  # ansible-test's get_venv_packages() for ansible-core 2.18 and 2.19


def _offline_home(version):
    """ansible-test's HOME for one ansible-core version (it keeps its sanity virtualenvs there)."""
    home = ROOT / ".cache" / ("ansible-test-home" if version == "2.19" else "ansible-test-home-" + version)
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(pathlib.Path(__file__).with_name("offline_get_pip.py"),
                cache / ("get_pip_%s.py" % PIP_VERSION.replace(".", "_")))
    wheel = sorted(WHEELS.glob("pip-%s-*.whl" % PIP_VERSION))
    assert wheel, "no pip %s wheel in %s: run make venv" % (PIP_VERSION, WHEELS)
    shutil.copy(wheel[0], cache / wheel[0].name)
    pip_conf = home / ".config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text("[global]\nno-index = true\nfind-links = %s\ndisable-pip-version-check = true\n" % WHEELS)
    return home


@pytest.mark.parametrize("version", sorted(ANSIBLE_CORE))
def test_ansible_test_sanity(collection_tree, version):
    bin_dir = ANSIBLE_CORE[version]
    assert (bin_dir / "ansible-test").exists(), "no ansible-core %s in %s: run make venv" % (version, bin_dir)
    env = {"HOME": str(_offline_home(version)), "PATH": "%s:/usr/bin:/bin" % bin_dir, "LC_ALL": "C.UTF-8"}
    version_line = subprocess.run([str(bin_dir / "ansible-test"), "--version"], capture_output=True, text=True,
                                  check=False, env=env).stdout
    assert version_line.startswith("ansible-test version %s." % version), version_line
    result = subprocess.run([str(bin_dir / "ansible-test"), "sanity", "--python", "3.11", "--local", "--color", "no"],
                            cwd=collection_tree, env=env, capture_output=True, text=True, check=False, timeout=1500)
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith(("ERROR", "FATAL"))]
    print(result.stdout[-8000:], result.stderr[-8000:])
    assert result.returncode == 0, "\n".join(errors[:80])
    assert "Running sanity test \"validate-modules\"" in output
    assert "Required program" not in output, "a sanity test was skipped (shellcheck: make host-packages)"
