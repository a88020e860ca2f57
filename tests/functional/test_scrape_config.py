"""playbooks/scrape_config.yml writes the scrape jobs of the group's exporters from the inventory (issue 26): one
target per node and job at the node's announced address and the metrics role's port, `instance` = its inventory
name; `promtool check config` (Debian 12's) accepts a Prometheus configuration made of it. Runs the playbook
against the lab's inventory without touching a node (every node has its redis_ha_announce_ip)."""

import os
import pathlib
import subprocess
import sys

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import ansible_playbook, collections_dir  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROMTOOL = ROOT / ".cache" / "prometheus" / "bin" / "promtool"
PORTS = {"redis": 9121, "sentinel": 9122, "node": 9100}  # the metrics role's defaults


def test_scrape_jobs_follow_the_inventory(tmp_path):
    out = tmp_path / "scrape.yml"
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(collections_dir()),
               ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ansible_playbook(), "-i", str(ROOT / "inventories" / "lab" / "hosts.yml"),
                           str(ROOT / "playbooks" / "scrape_config.yml"), "-e", "scrape_config_file=%s" % out],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    jobs = {job["job_name"]: job for job in yaml.safe_load(out.read_text())["scrape_configs"]}
    inventory = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())
    nodes = sorted(inventory["redis_ha"]["hosts"])
    for job, port in PORTS.items():
        got = {c["labels"]["instance"]: c["targets"] for c in jobs[job]["static_configs"]}
        want = {}
        for node in nodes:
            hv = yaml.safe_load((ROOT / "inventories" / "lab" / "host_vars" / ("%s.yml" % node)).read_text())
            want[node] = ["%s:%d" % (hv["redis_ha_announce_ip"], port)]
        assert got == want, (job, got, want)
    full = tmp_path / "prometheus.yml"
    full.write_text("global: {scrape_interval: 5s}\n" + out.read_text())
    check = subprocess.run([str(PROMTOOL), "check", "config", str(full)], capture_output=True, text=True, timeout=60,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
