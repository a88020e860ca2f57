"""Upgrade in place (issue 27, docs/group-model.md step 4): a group deployed by the release before this work is taken
over by this checkout's site.yml without moving data, without a restart, without moving the master or the VIP, and a
writer through the VIP sees no failed write.

The converge deployed the group with the release before (molecule.yml: REDIS_HA_RELEASE_BEFORE, a commit that
prepare.yml exports from git, builds and installs into the converge's own ANSIBLE_COLLECTIONS_PATH; converge.yml
imports its site.yml). This file runs first of the scenario's tests (the others expect the group as this checkout
deploys it):

* the collection the converge read is that commit's tree, file by file against `git archive`;
* 2000 keys are written on the master and replicated (the drills' base keys); every Sentinel's master, the VIP
  holder, each node's data settings and server run_id, and the MainPID of the server, Sentinel and keepalived units
  on every node are recorded;
* this checkout's site.yml runs under a writer through the VIP (valnodes.Writes: tools/drill.py's writer, 2 s client
  timeout): rc 0;
* afterwards: 0 failed and 0 lost acknowledged writes, every acknowledged write answered by the same server process
  (one run_id: the VIP never moved, the master never restarted); the same MainPIDs (a keepalived reload keeps its
  MainPID) and run_ids on every node; the same master named by every Sentinel and the same VIP holder; the same data
  directory and files; the base keys on every node.

The second run of this checkout's site.yml (changed=0 on every node) is test_20_secrets_and_access.py's first test:
the next site.yml run that gets past the preflight (test_10's runs are all refused there, and they assert that nothing
changed on any node). A run of its own here would cost about 20 s of the suite for the same assertion.
"""

import io
import os
import pathlib
import re
import subprocess
import tarfile
import time

import drill
import lab
import pytest
import valnodes
from drill_load import base_keys_missing, write_base_keys

RELEASE = "REDIS_HA_RELEASE_BEFORE"
# Where the data lives (CONFIG GET): a take-over that moved it would show here before the keys are missed.
DATA_SETTINGS = ("dir", "dbfilename", "appendonly", "appendfilename", "appenddirname")
# The build's own files (not in the source tree).
BUILD_FILES = {"MANIFEST.json", "FILES.json"}
# A writer that stops for this long did not write during the run (a write times out after 2 s).
WRITER_GAP_S = 5.0


def unit_pids(node: str) -> dict[str, str]:
    """MainPID of the server, Sentinel and keepalived units on one node."""
    units = (lab.unit("server"), lab.unit("sentinel"), "keepalived")
    pids = valnodes.node_exec(node, "systemctl show -p MainPID --value %s" % " ".join(units)).split()
    assert len(pids) == len(units), (node, pids)
    return dict(zip(units, pids))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def group_state() -> dict:
    """What the take-over may not change: masters named, VIP holder, unit PIDs, server run_ids, data settings."""
    state = {"sentinels": {}, "vip": lab.vip_holders(), "pids": {}, "run_id": {}, "data": {}}
    for node, ip in lab.node_ips().items():
        assert ip, "%s is not running" % node
        state["sentinels"][node] = lab.sentinel_master(ip, timeout=5)
        state["pids"][node] = unit_pids(node)
        cli = lab.redis_client(ip, timeout=5)
        try:
            state["run_id"][node] = cli.info("server")["run_id"]
            got = cli.execute_command("CONFIG", "GET", *DATA_SETTINGS)
            pairs = got.items() if isinstance(got, dict) else zip(got[::2], got[1::2])
            state["data"][node] = {_text(k): _text(v) for k, v in pairs}
        finally:
            cli.close()
    return state


def _archived(tar: tarfile.TarFile, name: str) -> bytes | None:
    """A file's content in the archive (a link's target's: the build copies the file a link names), or None."""
    try:
        return tar.extractfile(tar.getmember(name)).read()
    except (KeyError, AttributeError):  # not in the archive, or not a file
        return None


@pytest.fixture(scope="module")
def takeover():
    """The group as the release before left it, this checkout's site.yml run under a writer through the VIP, and
    the group afterwards."""
    master = drill.wait_healthy(timeout=120)
    master_ip = lab.node_ip(master)
    keys_run = "upgrade%d" % int(time.time())
    replicas = write_base_keys(master_ip, keys_run)
    before = group_state()
    with valnodes.Writes(sentinel_ip=master_ip) as writes:
        t_start = time.monotonic()
        res = valnodes.run_site(valnodes.INVENTORY / "hosts.yml")
        t_end = time.monotonic()
    after = group_state()
    missing = base_keys_missing(keys_run, delete=True)
    changed = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M))
    print("\nMEASURED: take-over by this checkout's site.yml: %.1f s, rc %d, changed %s; writes %d acked, %d failed, "
          "%d lost; base keys on %d replicas before, missing after %s"
          % (t_end - t_start, res.returncode, changed, len(writes.acked), len(writes.failed), writes.lost, replicas,
             missing))
    return {"master": master, "before": before, "after": after, "res": res, "writes": writes, "missing": missing,
            "replicas": replicas, "t_start": t_start, "t_end": t_end}


def test_the_converge_deployed_the_release_before():
    """The collections path molecule gave the converge (and gives verify) holds exactly that commit's tree."""
    commit, path = os.environ.get(RELEASE), os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    assert commit and path, "%s and ANSIBLE_COLLECTIONS_PATH unset: run through molecule (molecule.yml sets both)" % (
        RELEASE)
    installed = pathlib.Path(path) / "ansible_collections" / "redis_ha" / "sentinel_vip"
    assert installed.is_dir() and installed.resolve() != (valnodes.ROOT / ".cache" / "collections").resolve()
    archive = subprocess.run(["git", "-C", str(valnodes.ROOT), "archive", "--format=tar", commit], capture_output=True,
                             check=True, timeout=120).stdout
    files = sorted(str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file())
    compared = [f for f in files if f not in BUILD_FILES]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        differ = [f for f in compared if _archived(tar, f) != (installed / f).read_bytes()]
    print("release %s: %d files of the installed collection compared with git archive" % (commit[:12], len(compared)))
    assert not differ, "the converge's collection is not %s: %s" % (commit, differ[:20])
    assert {"playbooks/site.yml", "roles/redis/tasks/main.yml", "roles/keepalived/tasks/main.yml"} <= set(compared)


def test_site_yml_of_this_checkout_takes_the_group_over(takeover):
    res = takeover["res"]
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    assert not valnodes.leaked(res.stdout + res.stderr)


def test_a_writer_through_the_vip_saw_no_failed_and_no_lost_write(takeover):
    writes, t_start, t_end = takeover["writes"], takeover["t_start"], takeover["t_end"]
    results = writes.writer.results
    starts = [w["t0"] for w in results]
    assert starts and starts[0] < t_start + WRITER_GAP_S and results[-1]["t1"] > t_end - WRITER_GAP_S, \
        "the writer missed part of the run"
    gap = max(b - a for a, b in zip(starts, starts[1:]))
    assert gap < WRITER_GAP_S, "the writer stopped for %.1f s during the run" % gap
    assert not writes.failed, "%d writes failed: %s" % (len(writes.failed), writes.failed[:5])
    assert writes.lost == 0, "%d acknowledged writes lost" % writes.lost
    answered = {w["run_id"] for w in results if w["ok"]}
    assert answered == {takeover["before"]["run_id"][takeover["master"]]}, \
        "writes answered by other server processes than the master's: %s" % answered


def test_no_server_sentinel_or_keepalived_restarted(takeover):
    before, after = takeover["before"], takeover["after"]
    for node, pids in before["pids"].items():
        assert "0" not in pids.values(), "%s: a unit was not running before: %s" % (node, pids)
    assert after["pids"] == before["pids"], "MainPID before %s, after %s" % (before["pids"], after["pids"])
    assert after["run_id"] == before["run_id"], "servers restarted: run_id before %s, after %s" % (
        before["run_id"], after["run_id"])


def test_master_and_vip_unmoved(takeover):
    before, after, master = takeover["before"], takeover["after"], takeover["master"]
    master_at = "%s:%d" % (lab.node_ip(master), lab.redis_port())
    assert set(before["sentinels"].values()) == {master_at}, before["sentinels"]
    assert before["vip"] == [master], before["vip"]
    assert after["sentinels"] == before["sentinels"], after["sentinels"]
    assert after["vip"] == before["vip"], after["vip"]


def test_data_kept_where_it_was(takeover):
    before, after = takeover["before"], takeover["after"]
    assert takeover["replicas"] == len(lab.nodes()) - 1, "the base keys reached %s replicas" % takeover["replicas"]
    assert after["data"] == before["data"], "data settings before %s, after %s" % (before["data"], after["data"])
    assert takeover["missing"] == dict.fromkeys(lab.nodes(), 0), "base keys missing after the take-over: %s" % (
        takeover["missing"])
