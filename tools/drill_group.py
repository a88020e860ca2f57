"""The drills' view of the group (tools/drill.py): the clock, progress lines, which node the Sentinels' majority
names, whether the group is whole, a first write through the VIP, and ansible-playbook against the lab."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

import lab
import redis

ROOT = lab.ROOT
T0 = time.monotonic()


def now() -> float:
    return time.monotonic()


def progress(text: str):
    print("[%5.0f s] %s" % (now() - T0, text), flush=True)


def node_exec(node, *cmd, timeout=30):
    """A command inside one lab node (docker exec), its exit code not checked."""
    return lab.docker("exec", node, *cmd, check=False, timeout=timeout)


def sentinel_ip(host: str, timeout: float = 0.15, grp: str | None = None):
    """Address of the master one Sentinel of a group names (no port), fast timeout for the 50 ms monitor."""
    named = lab.sentinel_master(host, timeout=timeout, grp=grp)
    return named.rsplit(":", 1)[0] if named else None


def role_runid(host, timeout=0.15, grp: str | None = None):
    """(ROLE, run_id) of one node's server of a group, (None, None) when it does not answer."""
    if not host:
        return None, None
    cli = lab.redis_client(host, timeout=timeout, grp=grp)
    try:
        info = cli.info("server")
        role = cli.execute_command("ROLE")[0].decode()
        return role, info.get("run_id")
    except (redis.RedisError, OSError):
        return None, None
    finally:
        cli.close()


def majority(count: int) -> int:
    """Votes that are a majority of `count` nodes (2 of 3, 3 of 5)."""
    return count // 2 + 1


def majority_master(ips: dict):
    """(node, ip) a majority of the group's Sentinels name as master, or (None, None)."""
    named = [lab.sentinel_master(ip) for ip in ips.values() if ip]
    named = [n.rsplit(":", 1)[0] for n in named if n]
    if not named:
        return None, None
    best = max(set(named), key=named.count)
    if named.count(best) < majority(len(ips)):
        return None, None
    return next((n for n, ip in ips.items() if ip == best), None), best


def health(ips: dict) -> tuple[str | None, str]:
    """(the master's node name, "") when the group is whole: every node up, one master with every other node its
    replica in sync, all Sentinels agree, the VIP on that master, a write through the VIP works; else (None, what
    is missing)."""
    if not all(ips.values()):
        return None, "node down: %s" % ", ".join(n for n, ip in ips.items() if not ip)
    master, mip = majority_master(ips)
    if not master or any(lab.sentinel_master(ip) != "%s:%d" % (mip, lab.redis_port()) for ip in ips.values()):
        return None, "Sentinels disagree"
    for name, ip in ips.items():
        try:
            info = lab.redis_client(ip).info("replication")
        except (redis.RedisError, OSError):
            return None, "%s does not answer" % name
        if name == master and (info.get("role") != "master" or info.get("connected_slaves") != len(ips) - 1):
            return None, "%s: role %s, %s replicas" % (name, info.get("role"), info.get("connected_slaves"))
        if name != master and (info.get("role") != "slave" or info.get("master_link_status") != "up"):
            return None, "%s: role %s, link %s" % (name, info.get("role"), info.get("master_link_status"))
    holders = lab.vip_holders()
    if holders != [master]:
        return None, "VIP on %s, master %s" % (holders or "no node", master)
    try:
        lab.vip_client(timeout=1).set("drill:health", "1")
    except (redis.RedisError, OSError) as exc:
        return None, "write through the VIP: %s" % str(exc)[:60]
    return master, ""


def wait_healthy(timeout: float = 180.0) -> str:
    """Waits (bounded) until the group is whole; says what it waits for every 15 s."""
    start = now()
    end, said = start + timeout, start
    while now() < end:
        master, why = health(lab.node_ips())
        if master:
            return master
        if now() - said >= 15:
            said = now()
            progress("   waiting %.0f s for the group to be whole: %s" % (said - start, why))
        time.sleep(1.0)
    raise RuntimeError("the group did not become healthy within %d s: %s" % (timeout, lab.status()))


def first_write_through_vip(key: str, value: str, t0: float, bound_s: float, timeout: float = 0.2):
    """Write through the VIP, a new connection every 50 ms, until a write succeeds or bound_s after t0 (monotonic):
    (monotonic time of the first success or None, attempts, the last error)."""
    attempts, last_error = 0, None
    while now() - t0 < bound_s:
        attempts += 1
        client = lab.vip_client(timeout=timeout)
        try:
            client.set(key, value)
            return now(), attempts, last_error
        except Exception as exc:  # noqa: BLE001 - every failure mode of a client counts as "not yet"
            last_error = exc
            time.sleep(0.05)
        finally:
            client.close()
    return None, attempts, last_error


def ansible_playbook(name: str, extra=(), timeout=1200, env=None) -> subprocess.CompletedProcess:
    """ansible-playbook against the lab inventory; name is in playbooks/ or a path relative to the repo; env: more
    environment variables."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"), ANSIBLE_FORCE_COLOR="0", **(env or {}))
    bindir = pathlib.Path(sys.executable).parent
    inv = lab.INVENTORY / "hosts.yml"
    playbook = ROOT / name if "/" in name else ROOT / "playbooks" / name
    return subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inv), str(playbook), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False, timeout=timeout)


def run_playbook(name="switchover.yml", extra=(), timeout=600):
    """Runs a playbook (ansible_playbook); prints the end of its output when it fails; returns its exit code."""
    res = ansible_playbook(name, extra, timeout)
    if res.returncode != 0:
        print(res.stdout[-3000:], res.stderr[-2000:], file=sys.stderr)
    return res.returncode
