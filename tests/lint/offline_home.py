"""A HOME for ansible-test that works offline (tests/lint/test_sanity.py and test_units.py).

ansible-test bootstraps pip in the virtual environments it makes with a get-pip.py it downloads unless it finds
~/.ansible/test/cache/get_pip_<version>.py: offline_get_pip.py stands in for it, with the pip wheel beside it.
ansible-test passes no PIP_* variable on, so the HOME's pip.conf keeps pip on the wheels `make venv` downloaded
into .cache/wheels (no-index, find-links)."""

import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".cache" / "wheels"
PIP_VERSION = "24.2"  # ansible-test's get_venv_packages() for ansible-core 2.18 and 2.19


def offline_home(home, wheels=()):
    """Prepare `home` (created if missing) for ansible-test; `wheels`: names of wheels that must be in WHEELS."""
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(pathlib.Path(__file__).with_name("offline_get_pip.py"),
                cache / ("get_pip_%s.py" % PIP_VERSION.replace(".", "_")))
    pip_wheel = sorted(WHEELS.glob("pip-%s-*.whl" % PIP_VERSION))
    assert pip_wheel, "no pip %s wheel in %s: run make venv" % (PIP_VERSION, WHEELS)
    shutil.copy(pip_wheel[0], cache / pip_wheel[0].name)
    for name in wheels:
        assert list(WHEELS.glob(name + "-*.whl")), "no %s wheel in %s: run make venv" % (name, WHEELS)
    pip_conf = home / ".config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True, exist_ok=True)
    pip_conf.write_text("[global]\nno-index = true\nfind-links = %s\ndisable-pip-version-check = true\n" % WHEELS)
    return home
