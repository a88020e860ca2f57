"""End-to-end Molecule scenarios, each on its own three systemd containers. Output is streamed.

* default: site.yml, idempotence, verify with the master killed and brought back, host tuning, the
  restart-empty (with the notify hooks) and crash-restart drills, every playbook of playbooks/ under a
  writer; on two networks. One scenario definition run over the supported platform x engine combinations
  (REDIS_HA_PLATFORM picks the image, REDIS_HA_ENGINE the lab's redis_ha_engine); TLS on
  (REDIS_HA_TLS, inventories/lab) on both Debian 13 combinations: Valkey with the CA the collection generates
  and plaintext ports kept beside TLS (redis_ha_tls_plaintext), Redis with the lab's own CA (provided
  certificates), client certificates required and no plaintext port at all. Debian 13 + Valkey carries a
  second Redis group on the same nodes (REDIS_HA_GROUPS): both deployed, one group's master frozen and switched
  over under writers on both (test_11_groups.py).
* validation: the group deployed by the release before issue 27 (molecule.yml) taken over in place by this
  checkout's site.yml under a writer; bad inventories refused by the preflight with nothing changed on any node; no
  password in output or ps; least-privilege ACL users; each role alone.
(molecule/drill holds the benchmark nodes of docs/benchmarks.md; it is not part of the suite.)"""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
# (scenario, platform image, engine): the acceptance scenario on every supported combination.
COMBINATIONS = [
    ("default", "debian12", "redis"),
    ("default", "debian13", "redis"),
    ("default", "debian13", "valkey"),
    ("validation", "debian12", "redis"),
]
# The combinations that run with TLS on (REDIS_HA_TLS, inventories/lab): no extra run. Plaintext is off on the
# Redis one; the Valkey one keeps plaintext ports beside TLS (REDIS_HA_TLS_PLAINTEXT: redis_ha_tls_plaintext).
TLS_MODES = {("default", "debian13", "valkey"): "1", ("default", "debian13", "redis"): "own-ca"}
TLS_PLAINTEXT = {("default", "debian13", "valkey")}
# The combination that runs a real Prometheus beside the nodes (REDIS_HA_PROMETHEUS, molecule/default/prepare.yml):
# every exporter scraped, the alert rules loaded, the failover alert seen during the kill-master test.
PROMETHEUS = {("default", "debian12", "redis")}
# The combination whose three nodes carry a second Redis group (REDIS_HA_GROUPS, inventories/lab: the group cache
# with its own ports, master name, VIP and router id; docs/group-model.md): test_11_groups.py drills it.
GROUPS = {("default", "debian13", "valkey")}


@pytest.mark.parametrize("scenario,platform,engine", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_molecule_scenario(scenario, platform, engine):
    env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), PY_COLORS="0",
               ANSIBLE_FORCE_COLOR="0", REDIS_HA_PLATFORM=platform, REDIS_HA_ENGINE=engine,
               REDIS_HA_TLS=TLS_MODES.get((scenario, platform, engine), ""),
               REDIS_HA_TLS_PLAINTEXT="1" if (scenario, platform, engine) in TLS_PLAINTEXT else "",
               REDIS_HA_PROMETHEUS="1" if (scenario, platform, engine) in PROMETHEUS else "",
               REDIS_HA_GROUPS="1" if (scenario, platform, engine) in GROUPS else "")
    proc = subprocess.Popen([str(BIN / "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        tail = (tail + [line])[-80:]
    assert proc.wait() == 0, "molecule test -s %s (%s, %s) failed:\n%s" % (scenario, platform, engine, "".join(tail))
