"""What the validation scenario's tests need beyond the lab helper tools/lab.py.

The nodes, their addresses, the inventory's variables, the VIP, Docker and Sentinel's master come from
tools/lab.py, the one lab helper of every test and tool, pointed at inventories/validation by this folder's
conftest.py (REDIS_HA_LAB_INVENTORY). Here: site.yml runs with a given inventory and extra variables, snapshots of
what the collection manages on every node (file checksums, owners and modes, installed packages, service PIDs),
the bad inventories' cases, leak checks, and redis-py clients for any ACL user or none (lab.py's log in as
admin/default).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = pathlib.Path(__file__).resolve().parents[3]
INVENTORY = ROOT / "inventories" / "validation"
sys.path.insert(0, str(ROOT / "tools"))

import lab  # noqa: E402  (tools/lab.py; conftest.py set REDIS_HA_LAB_INVENTORY before)
from lab import docker, group_vars, nodes  # noqa: E402

assert lab.INVENTORY.resolve() == INVENTORY, (
    "tools/lab.py reads %s, not the validation inventory: import valnodes through this folder's conftest.py "
    "(REDIS_HA_LAB_INVENTORY=%s)" % (lab.INVENTORY, INVENTORY))

BAD = ROOT / "molecule" / "validation" / "bad"
SITE = ROOT / "playbooks" / "site.yml"
PREFLIGHT_PLAY = "Preflight - refuse bad input before any host changes"
BIN = pathlib.Path(sys.executable).parent

# What the roles manage on a node: every file below these paths, plus the package database (an apt
# install changes it). Checksums, owner, group and mode of each.
SNAPSHOT_PATHS = ("/etc", "/usr/local", "/var/lib/dpkg/status")
# Services of the stack (any unit whose name starts with these), and their main PIDs.
SERVICE_PATTERNS = ("redis*", "keepalived*")


def secrets(extra: dict | None = None) -> list[str]:
    """Every password of the validation inventory (and of extra, e.g. a bad case), for leak checks."""
    found = []
    for source in (group_vars(), extra or {}):
        for key, value in source.items():
            if isinstance(value, str) and ("password" in key or key.endswith("_pass")) and len(value) >= 4:
                found.append(value)
    return found


def leaked(text: str, extra: dict | None = None) -> list[str]:
    """Names of the password variables whose value appears in text (as is, JSON- or Python-escaped)."""
    found = []
    for source in (group_vars(), extra or {}):
        for key, value in source.items():
            if value not in secrets(extra):
                continue
            forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
            if any(form in text for form in forms):
                found.append(key)
    return found


def node_exec(node: str, script: str, timeout: float = 60) -> str:
    return docker("exec", node, "sh", "-c", script, timeout=timeout).stdout


# ---- snapshots -----------------------------------------------------------------------------------

def node_snapshot(node: str) -> dict[str, str]:
    """{path: "sha256 owner:group mode"} for every managed file, {"pid:UNIT": "PID"} for every service."""
    paths = " ".join(SNAPSHOT_PATHS)
    patterns = " ".join("'%s'" % p for p in SERVICE_PATTERNS)
    out = node_exec(node, "find %s -xdev -type f -print0 | sort -z | xargs -0 stat -c '%%n\t%%U:%%G %%a'; echo --; "
                          "find %s -xdev -type f -print0 | sort -z | xargs -0 sha256sum; echo --; "
                          "for u in $(systemctl list-units --type=service --all --plain --no-legend %s"
                          " | awk '{print $1}'); "
                          "do echo \"$u $(systemctl show -p MainPID --value $u)\"; done" % (paths, paths, patterns))
    meta, sums, pids = out.split("--\n")
    snap = {}
    for line in meta.splitlines():
        path, owner_mode = line.split("\t", 1)
        snap[path] = owner_mode
    for line in sums.splitlines():
        digest, path = line.split(None, 1)
        snap[path] = digest + " " + snap.get(path, "")
    for line in pids.splitlines():
        unit, pid = line.split()
        snap["pid:" + unit] = pid
    return snap


def snapshot() -> dict[str, dict[str, str]]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes())) as pool:
        return dict(zip(nodes(), pool.map(node_snapshot, nodes())))


def snapshot_diff(before: dict, after: dict) -> list[str]:
    changes = []
    for node in before:
        b, a = before[node], after.get(node, {})
        for key in sorted(set(b) | set(a)):
            if b.get(key) != a.get(key):
                changes.append("%s %s: %s -> %s" % (node, key, b.get(key, "(absent)"), a.get(key, "(absent)")))
    return changes


def settled_snapshot(timeout: float = 90, quiet_s: float = 5) -> dict:
    """A snapshot once nothing has changed for quiet_s seconds (Sentinel rewrites its file for a few
    seconds after a converge while it discovers its peers)."""
    deadline = time.monotonic() + timeout
    last = snapshot()
    while True:
        time.sleep(quiet_s)
        now = snapshot()
        if now == last:
            return now
        if time.monotonic() > deadline:
            raise AssertionError("the nodes did not settle: %s" % snapshot_diff(last, now)[:10])
        last = now


# ---- ansible-playbook ------------------------------------------------------------------------------

def ansible_env(**extra: str) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0", ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_VERBOSITY", None)
    env.update(extra)
    return env


def run_site(inventory: pathlib.Path, extra_vars_file: pathlib.Path | None = None, *, json_output: bool = False,
             verbosity: int = 0, timeout: float = 900, playbook: pathlib.Path = SITE,
             args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """ansible-playbook (site.yml unless playbook) with an inventory, an extra variables file and more args."""
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), *args]
    if extra_vars_file is not None:
        cmd += ["-e", "@%s" % extra_vars_file]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd.append(str(playbook))
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json") if json_output else ansible_env()
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=timeout)


def bad_case(path: pathlib.Path) -> dict:
    """A bad inventory: its extra variables and the directives in its comments
    (# expect: VARIABLE, # hosts: NODE..., # drop: VARIABLE...)."""
    case = {"name": path.stem, "file": path, "vars": yaml.safe_load(path.read_text()) or {},
            "expect": None, "hosts": None, "drop": []}
    for line in path.read_text().splitlines():
        for key in ("expect", "hosts", "drop"):
            prefix = "# %s:" % key
            if line.startswith(prefix):
                words = line[len(prefix):].split()
                case[key] = words[0] if key == "expect" else words
    assert case["expect"], "%s has no '# expect: VARIABLE' line" % path
    return case


def case_inventory(case: dict, workdir: pathlib.Path) -> pathlib.Path:
    """The validation inventory, or a copy reduced to the case's hosts / without its dropped variables."""
    if not case["hosts"] and not case["drop"]:
        return INVENTORY / "hosts.yml"
    inv = workdir / "inventory"
    shutil.copytree(INVENTORY, inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    if case["hosts"]:
        hosts["redis_ha"]["hosts"] = {h: v for h, v in hosts["redis_ha"]["hosts"].items() if h in case["hosts"]}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    gv = yaml.safe_load((inv / "group_vars" / "redis_ha.yml").read_text())
    for name in case["drop"]:
        gv.pop(name, None)
    (inv / "group_vars" / "redis_ha.yml").write_text(yaml.safe_dump(gv, sort_keys=False))
    return inv / "hosts.yml"


def json_report(stdout: str) -> dict:
    """The ansible.posix.json callback's document (anything printed before it is skipped)."""
    return json.loads(stdout[stdout.index("{"):])


def failures(report: dict) -> list[tuple[str, str, str, str]]:
    """(play, task, host, message) of every failed result."""
    found = []
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if not result.get("failed") and not any(r.get("failed") for r in result.get("results", [])):
                    continue
                items = [r for r in result.get("results", []) if r.get("failed")]
                msgs = [result.get("msg", "")] + [r.get("msg", "") for r in items]
                found.append((play["play"]["name"], task["task"]["name"], host, " | ".join(m for m in msgs if m)))
    return found


# ---- redis-py clients ------------------------------------------------------------------------------

def client(host: str, username: str | None = None, password: str | None = None, port: int | None = None,
           timeout: float = 2.0) -> redis.Redis:
    """A client of a node's Redis (or of another port: lab.sentinel_port()) as any user, or none at all."""
    port = port or lab.redis_port()
    return redis.Redis(host=host, port=port, username=username, password=password, socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def user_client(host: str, user: str) -> redis.Redis:
    """A client logged in as one of the ACL users: default, admin, replicator, sentinel, vipcheck."""
    gv = group_vars()
    passwords = {"default": gv["redis_password"], "admin": gv["redis_admin_password"],
                 "replicator": gv["redis_replication_password"], "sentinel": gv["redis_ha_sentinel_user_password"],
                 "vipcheck": gv["redis_ha_check_user_password"]}
    return client(host, username=None if user == "default" else user, password=passwords[user])


def refusal(call) -> str | None:
    """Run call(); the error text when Redis refused it for lack of authentication or permission,
    None when it was allowed (any other error counts as allowed: the command got past the ACL check)."""
    try:
        call()
    except redis.exceptions.NoPermissionError as exc:
        return "NOPERM " + str(exc)
    except redis.exceptions.AuthenticationError as exc:
        return "NOAUTH " + str(exc)
    except redis.exceptions.ResponseError as exc:
        text = str(exc)
        if text.startswith(("NOPERM", "NOAUTH", "WRONGPASS")) or "no permissions" in text or \
                "Authentication required" in text:
            return text
        return None
    return None


# ---- members: Sentinel's views, replacing a container, a writer through the VIP -----------------------------

def expected_views(members: dict[str, str], master_ip: str, witnesses: tuple[str, ...] = ()) -> dict[str, dict]:
    """What every member's Sentinel must know when the group is exactly members ({node: ip}): the others'
    Sentinels (witnesses too), every member but the master and the witnesses as a replica, the default quorum (a
    majority of the Sentinels)."""
    rport, sport = lab.redis_port(), lab.sentinel_port()
    return {node: {"sentinels": sorted("%s:%d" % (ip, sport) for n, ip in members.items() if n != node),
                   "replicas": sorted("%s:%d" % (ip, rport) for n, ip in members.items()
                                      if ip != master_ip and n not in witnesses),
                   "quorum": len(members) // 2 + 1, "master": "%s:%d" % (master_ip, rport)}
            for node in members}


def sentinel_views(members: dict[str, str]) -> dict[str, dict]:
    """Every member's Sentinel view: SENTINEL SENTINELS / REPLICAS / MASTER as in expected_views."""
    views = {}
    for node, ip in members.items():
        try:
            cli = lab.sentinel_client(ip, timeout=2)
            master = cli.sentinel_master(lab.master_name())
            views[node] = {
                "sentinels": sorted("%s:%s" % (s["ip"], s["port"]) for s in cli.sentinel_sentinels(lab.master_name())),
                "replicas": sorted("%s:%s" % (r["ip"], r["port"]) for r in cli.sentinel_slaves(lab.master_name())),
                "quorum": int(master["quorum"]), "master": "%s:%s" % (master["ip"], master["port"])}
        except (redis.RedisError, OSError) as exc:
            views[node] = {"error": str(exc)}
    return views


def wait_views(members: dict[str, str], master_ip: str, timeout: float = 60, witnesses: tuple[str, ...] = ()) -> float:
    """Waits (bounded) until every Sentinel's view equals expected_views; returns the seconds it took."""
    want, t0 = expected_views(members, master_ip, witnesses), time.monotonic()
    while (got := sentinel_views(members)) != want:
        assert time.monotonic() - t0 < timeout, "Sentinel views after %.0f s:\n%s\nexpected:\n%s" % (
            timeout, json.dumps(got, indent=1), json.dumps(want, indent=1))
        time.sleep(1)
    return time.monotonic() - t0


def recreate(node: str, ip: str, network: str = "redis-val-net") -> None:
    """The node's container replaced by an empty one with the same name and address (molecule.yml's options)."""
    image = docker("inspect", "-f", "{{.Config.Image}}", node).stdout.strip()
    docker("rm", "-f", node, timeout=120)
    docker("run", "-d", "--name", node, "--hostname", node, "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
           "--cap-add", "NET_RAW", "--cap-add", "NET_BROADCAST", "--security-opt", "seccomp=unconfined",
           "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
           "--sysctl", "net.ipv4.ip_nonlocal_bind=1", "--network", network, "--ip", ip, image, timeout=120)


def inventory_with(workdir: pathlib.Path, members: dict[str, str], witnesses: tuple[str, ...] = (),
                   extra: dict | None = None) -> pathlib.Path:
    """A copy of the validation inventory whose group is exactly members ({node: ip}, redis_ha_announce_ip), with
    redis_ha_witness on the witnesses and extra group variables."""
    inv = workdir / "inventory"
    if inv.exists():
        shutil.rmtree(inv)
    shutil.copytree(INVENTORY, inv)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    hosts["redis_ha"]["hosts"] = dict.fromkeys(members)
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for node, ip in members.items():
        hv = {"redis_ha_announce_ip": ip, **({"redis_ha_witness": True} if node in witnesses else {})}
        (inv / "host_vars" / ("%s.yml" % node)).write_text(yaml.safe_dump(hv))
    gv = yaml.safe_load((inv / "group_vars" / "redis_ha.yml").read_text())
    if gv["redis_ha_bootstrap_master"] not in members or gv["redis_ha_bootstrap_master"] in witnesses:
        # the operator names another member there (lifecycle.md)
        gv["redis_ha_bootstrap_master"] = next(n for n in members if n not in witnesses)
    gv.update(extra or {})
    (inv / "group_vars" / "redis_ha.yml").write_text(yaml.safe_dump(gv, sort_keys=False))
    return inv / "hosts.yml"


class Writes:
    """A writer through the VIP (tools/drill.py) for a with-block; afterwards .failed (writes that failed) and
    .lost (acknowledged writes the master does not have: the master that sentinel_ip's Sentinel names, by default
    the first node's)."""

    def __init__(self, sentinel_ip: str | None = None):
        self.sentinel_ip = sentinel_ip

    def __enter__(self):
        import drill  # noqa: PLC0415  (tools/drill.py, only for these tests)
        # a generous client timeout: a write slower than 2 s counts as failed (the drill's 0.2 s also counts a
        # write delayed by the load of a shared test machine)
        self.writer = drill.Writer("members%d" % int(time.time()), timeout=2.0)
        self.writer.start()
        self.stop = drill.stop_threads
        return self

    def __exit__(self, *exc):
        self.stop(self.writer)
        results = self.writer.results
        self.acked = [w["seq"] for w in results if w["ok"]]
        self.failed = [(w["seq"], w["err"]) for w in results if not w["ok"]]
        master = lab.sentinel_master(self.sentinel_ip or lab.node_ip(lab.nodes()[0])).rsplit(":", 1)[0]
        cli = lab.redis_client(master, timeout=10)
        keys = ["drill:%s:%d" % (self.writer.run_id, s) for s in self.acked]
        self.lost = sum(v is None for i in range(0, len(keys), 500) for v in cli.mget(keys[i:i + 500]))
        if keys:
            cli.delete(*keys)
        return False
