"""Day-2 playbooks against the converged group (issues 25 and 26), on every combination (a few seconds each):

* playbooks/scrape_config.yml writes one target per node and job from the inventory, and every target serves its
  exporter's metrics from the control machine (where metrics are on: the lab inventory switches them on); on the
  combination with the scenario's Prometheus, the written jobs are exactly the targets Prometheus scrapes;
* playbooks/forget_members.yml on a whole group (nobody removed) changes nothing, in --check and for real,
  and every Sentinel then knows exactly the other members as Sentinels and replicas (Debian 12 + Redis,
  plaintext). The removal itself (a fourth node
  added, removed and forgotten) was shown on the drill lab (docs/lifecycle.md), not yet in the suite."""

import re
import urllib.request

import drill
import lab
import lab_prometheus
import pytest
import yaml

EXPECT = {"redis": "redis_up", "sentinel": "redis_sentinel_masters", "node": "redis_ha_check_verdict"}


def recap_changed(output: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def test_scrape_config_targets_serve_their_metrics(tmp_path):
    out = tmp_path / "scrape.yml"
    res = drill.ansible_playbook("scrape_config.yml", ["-e", "scrape_config_file=%s" % out], timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    jobs = {job["job_name"]: job for job in yaml.safe_load(out.read_text())["scrape_configs"]}
    assert set(jobs) == set(EXPECT), jobs
    written = set()
    for job, metric in EXPECT.items():
        targets = {c["labels"]["instance"]: c["targets"] for c in jobs[job]["static_configs"]}
        assert sorted(targets) == sorted(lab.nodes()), targets
        for node, (target,) in targets.items():
            assert target.rsplit(":", 1)[0] == lab.node_ip(node), (node, target)
            written.add((job, node, target))
            if lab.group_vars().get("redis_ha_metrics"):
                with urllib.request.urlopen("http://%s/metrics" % target, timeout=10) as reply:
                    assert metric in reply.read().decode(), (job, target)
    if lab_prometheus.enabled():
        active = lab_prometheus._get("/api/v1/targets")["data"]["activeTargets"]
        scraped = {(t["labels"]["job"], t["labels"]["instance"], t["discoveredLabels"]["__address__"]) for t in active}
        assert scraped == written, (scraped, written)


@pytest.mark.skipif((lab.platform(), lab.engine()) != ("debian12", "redis"),
                    reason="runs on debian12 + redis (plaintext) only: not yet tried over TLS")
def test_forget_members_changes_nothing_in_a_whole_group():
    for extra in (["--check"], []):
        res = drill.ansible_playbook("forget_members.yml", extra, timeout=600)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
        changed = recap_changed(res.stdout)
        assert sorted(changed) == sorted(lab.nodes()) and not any(changed.values()), (extra, changed)
    others = len(lab.nodes()) - 1
    for node, ip in lab.node_ips().items():
        cli = lab.sentinel_client(ip, timeout=5)
        try:
            sentinels = cli.execute_command("SENTINEL", "SENTINELS", lab.master_name())
            replicas = cli.execute_command("SENTINEL", "REPLICAS", lab.master_name())
        finally:
            cli.close()
        assert len(sentinels) == others, (node, sentinels)
        assert len(replicas) == others, (node, replicas)
