"""End-to-end Molecule scenarios, each on its own three systemd containers. Output is streamed.

* default: site.yml, idempotence, verify with the master killed and brought back, a switchover drill.
* validation: bad inventories refused by the preflight with nothing changed on any node; no password in
  output or ps; least-privilege ACL users.
* drill: site.yml, idempotence, verify with the restart-empty and crash-restart drills (no key lost on any
  node, failed writes under 10 s; molecule/drill/tests)."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


@pytest.mark.parametrize("scenario", ["default", "validation", "drill"])
def test_molecule_scenario(scenario):
    env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), PY_COLORS="0",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.Popen([str(BIN / "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        tail = (tail + [line])[-80:]
    assert proc.wait() == 0, "molecule test -s %s failed:\n%s" % (scenario, "".join(tail))
