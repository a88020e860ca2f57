"""`ansible-test sanity` on the collection as built (the tarball unpacked as ansible_collections/redis_ha/
sentinel_vip), offline, with each ansible-core of the support matrix (tests/lint/matrix.py).

ansible-test runs each sanity test in a virtual environment of its own, with the exact versions its
requirement files pin (ansible_test/_data/requirements/sanity.*.txt of the pinned ansible-core). `make
venv` downloads those wheels, and pip 24.2 that ansible-test bootstraps, into .cache/wheels. Here
ansible-test gets a HOME of its own (it passes no other variable on) where pip's configuration allows only
that directory (no-index) and offline_get_pip.py stands in for the get-pip.py it would download. It keeps
its virtual environments there, so a second run does not build them again.
"""

import subprocess

import pytest

from offline_home import offline_home
from support_matrix import ANSIBLE_CORE, ROOT


def _offline_home(version):
    """ansible-test's HOME for one ansible-core version (it keeps its sanity virtualenvs there), set up offline by
    offline_home.py (pip from offline_get_pip.py, pip.conf on .cache/wheels)."""
    name = "ansible-test-home" if version == "2.19" else "ansible-test-home-" + version
    return offline_home(ROOT / ".cache" / name)


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
