"""The support matrix the static checks run: each ansible-core minor version with the virtualenv holding it.

2.19: the project's .venv (requirements.txt, `ansible` 12.x); 2.18: .cache/ansible-2.18
(requirements-ansible-2.18.txt, `ansible` 11.x), made by `make venv`. Node-side Python versions: 3.11
(Debian 12, the controller's) and 3.13 (Debian 13, tests/lint/test_node_python.py).
test_metadata.py checks that meta/runtime.yml, galaxy.yml, the README and the EE state this matrix."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_CORE = {
    "2.19": pathlib.Path(sys.executable).parent,
    "2.18": ROOT / ".cache" / "ansible-2.18" / "bin",
}
NODE_PYTHONS = ("3.11", "3.13")
PLATFORMS = {"Debian": ("bookworm", "trixie")}
