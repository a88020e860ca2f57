# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for get-pip.py, used by test_sanity.py.

ansible-test puts pip into each sanity virtual environment with a get-pip.py script it downloads
from its CI file server (unreachable here) unless it finds one at
~/.ansible/test/cache/get_pip_<version>.py. This stand-in does what get-pip.py does (pip install
with the given arguments, pip itself run from a pip wheel), with the pip wheel placed next to it;
ansible-test passes no PIP_* variable on, so the pip.conf of the test's HOME keeps pip on the
wheels `make venv` downloaded (no-index, find-links).
"""

import glob
import os
import sys


def main(argv):
    """Install the requested packages (``pip==X`` ...) with the pip wheel next to this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    wheels = sorted(glob.glob(os.path.join(here, "pip-*.whl")))
    if not wheels:
        sys.stderr.write("offline_get_pip: no pip wheel in %s\n" % here)
        return 1
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    # get-pip.py's own options; the bootstrap installs neither setuptools nor wheel anyway.
    args = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    return pip_main(["install"] + args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
