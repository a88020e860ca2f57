"""End-to-end acceptance: the Molecule `default` scenario (three systemd containers, site.yml, idempotence,
verify with the master killed and brought back). Output is streamed so progress is visible."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def test_molecule_default_scenario():
    env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), PY_COLORS="0",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.Popen([str(BIN / "molecule"), "test", "-s", "default"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        tail = (tail + [line])[-80:]
    assert proc.wait() == 0, "molecule test failed:\n" + "".join(tail)
