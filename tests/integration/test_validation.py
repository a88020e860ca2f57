"""Input validation and access control: the Molecule `validation` scenario (its own three systemd containers
redis-val-1..3 on 172.31.251.0/24; site.yml converge; bad inventories refused by the preflight with nothing
changed on any node; no password in output or ps; least-privilege ACL users). Output is streamed."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def test_molecule_validation_scenario():
    env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), PY_COLORS="0",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.Popen([str(BIN / "molecule"), "test", "-s", "validation"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        tail = (tail + [line])[-80:]
    assert proc.wait() == 0, "molecule test failed:\n" + "".join(tail)
