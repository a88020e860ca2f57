"""The local lab seen from the control machine: nodes, addresses, clients, VIP holder.

Shared by the Molecule verify tests and the drills (the lab's status table is playbooks/status.yml). It reads the
lab inventory (inventories/lab, three nodes; an N-node lab of `make lab NODES=N` has its own, chosen with
REDIS_HA_LAB_INVENTORY) so every tool uses the same names, addresses and passwords, and as many nodes.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import subprocess
import time

import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Another lab (a drill scenario's own nodes, an N-node lab: .cache/lab-N, the validation scenario's nodes: its tests'
# conftest.py sets inventories/validation) is chosen with
# REDIS_HA_LAB_INVENTORY=<inventory folder>.
INVENTORY = pathlib.Path(os.environ.get("REDIS_HA_LAB_INVENTORY", ROOT / "inventories" / "lab"))


def group_vars() -> dict:
    """Variables of the redis_ha group of the lab inventory."""
    return yaml.safe_load((INVENTORY / "group_vars" / "redis_ha.yml").read_text())


def host_vars(name: str) -> dict:
    """Variables of one node in the lab inventory (host_vars/<name>.yml), merged over the group's."""
    path = INVENTORY / "host_vars" / ("%s.yml" % name)
    return {**group_vars(), **((yaml.safe_load(path.read_text()) or {}) if path.exists() else {})}


# Units and config directory of each engine (roles/redis and roles/sentinel vars/main.yml, Debian packaging).
ENGINE_UNITS = {"redis": {"server": "redis-server", "sentinel": "redis-sentinel", "config_dir": "/etc/redis",
                          "data_dir": "/var/lib/redis", "log_dir": "/var/log/redis"},
                "valkey": {"server": "valkey-server", "sentinel": "valkey-sentinel", "config_dir": "/etc/valkey",
                           "data_dir": "/var/lib/valkey", "log_dir": "/var/log/valkey"}}
# Sentinel's failover steps, in order, as its events and its log name them (Valkey 8.1 keeps the "slave" names);
# +sdown/+odown count for the master only (their data starts with "master").
SENTINEL_EVENTS = ("+sdown", "+odown", "+elected-leader", "+selected-slave", "+failover-state-wait-promotion",
                   "+promoted-slave", "+switch-master", "+slave-reconf-sent", "+failover-end")


def engine() -> str:
    """The lab's engine: inventories/lab follows REDIS_HA_ENGINE (redis when unset)."""
    return os.environ.get("REDIS_HA_ENGINE") or "redis"


def platform() -> str:
    """The lab's platform image: REDIS_HA_PLATFORM (debian12 when unset), as molecule/default picks it."""
    return os.environ.get("REDIS_HA_PLATFORM") or "debian12"


def tls_mode() -> str:
    """The lab's TLS by REDIS_HA_TLS, as inventories/lab reads it: "" (plaintext, unset), "generate" (1: the
    collection's private CA) or "own-ca" (certificates made by scripts/lab-own-ca.sh, client certificates required)."""
    value = (os.environ.get("REDIS_HA_TLS") or "").lower()
    return "own-ca" if value == "own-ca" else "generate" if value in ("1", "true", "yes") else ""


def tls() -> bool:
    """TLS on in the lab (either mode)."""
    return bool(tls_mode())


def tls_plaintext_ports() -> tuple[int, int] | None:
    """The plaintext (Redis, Sentinel) ports kept beside TLS (REDIS_HA_TLS_PLAINTEXT, as inventories/lab reads it:
    redis_ha_tls_plaintext, the roles' default ports, read from their defaults), or None when plaintext is off or TLS is."""
    on = (os.environ.get("REDIS_HA_TLS_PLAINTEXT") or "").lower() in ("1", "true", "yes")
    if not (tls() and on):
        return None
    ports = [yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())["%s_tls_plaintext_port" % role]
             for role in ("redis", "sentinel")]
    return ports[0], ports[1]


# The lab's CA on the control machine (inventories/lab: <repository>/.cache/lab-ca for the generated one,
# lab_own_ca_dir for own-ca) with the node certificates <node>.crt, and lab-client.crt with own-ca.
TLS_CA_DIR = ROOT / ".cache" / ("lab-own-ca" if tls_mode() == "own-ca" else "lab-ca")
# Where the roles install the CA, certificate and key on the nodes (roles/redis defaults: redis_tls_dir).
NODE_TLS_DIR = "/etc/redis-ha/tls"


def client_certificate() -> tuple[str, str] | None:
    """The lab's client certificate and key (own-ca: the servers require one), else None."""
    if tls_mode() != "own-ca":
        return None
    return str(TLS_CA_DIR / "lab-client.crt"), str(TLS_CA_DIR / "lab-client.key")


def tls_kwargs() -> dict:
    """redis-py options for a lab client: TLS checked against the lab's CA and the address connected to (the
    node certificates carry the nodes' addresses and the VIP), with the lab's client certificate where the
    servers require one, or nothing for a plaintext lab."""
    if not tls():
        return {}
    kwargs = {"ssl": True, "ssl_ca_certs": str(TLS_CA_DIR / "ca.crt"), "ssl_cert_reqs": "required",
              "ssl_check_hostname": True}
    if client_certificate():
        kwargs["ssl_certfile"], kwargs["ssl_keyfile"] = client_certificate()
    return kwargs


def units() -> dict:
    """Server and Sentinel unit names and config directory of the lab's engine."""
    return ENGINE_UNITS[engine()]


def groups() -> list[str]:
    """The lab's Redis groups beyond the group ha (REDIS_HA_GROUPS=N: the first N of inventories/lab's
    lab_more_groups; 1, true or yes: one)."""
    value = os.environ.get("REDIS_HA_GROUPS", "").lower()
    count = 1 if value in ("true", "yes") else int(value or 0)
    return [entry["name"] for entry in group_vars()["lab_more_groups"][:count]]


def unit(kind: str, grp: str | None = None) -> str:
    """A group's server or Sentinel unit (kind: server, sentinel): the packaged one for the group ha, the template
    unit's instance for another (the roles' per_group filter)."""
    return units()[kind] if grp in (None, "ha") else "%s@%s" % (units()[kind], grp)


def nodes() -> list[str]:
    """Container names of the lab nodes, in inventory order."""
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())
    return list(hosts["redis_ha"]["hosts"])


def group(name: str | None = None) -> dict:
    """The lab's values of one Redis group (docs/group-model.md): the group ha (None) from the redis_ha_* variables,
    the others (REDIS_HA_GROUPS) from lab_more_groups, keyed as entries of redis_ha_groups."""
    gv = group_vars()
    if name in (None, "ha"):
        return {"name": "ha", "vips": gv["redis_ha_vips"], "redis_port": int(gv.get("redis_ha_redis_port", 6379)),
                "sentinel_port": int(gv.get("redis_ha_sentinel_port", 26379)),
                "master_name": gv.get("redis_ha_master_name", "mymaster")}
    for entry in gv["lab_more_groups"]:
        if entry["name"] == name:
            return entry
    raise ValueError("the lab has no group %r (lab_more_groups)" % (name,))


def vrrp_instance(grp: str | None = None) -> str:
    """The name of a group's vrrp_instance in keepalived.conf (redis_vip_<router id>), as the notify hooks get it."""
    entry = group(grp)
    vrid = entry.get("virtual_router_id") or group_vars()["keepalived_virtual_router_id"]
    return "redis_vip_%d" % int(vrid)


def vip(grp: str | None = None) -> str:
    """The (first) virtual IP of a group of the lab (the group ha by default), without prefix length."""
    return str(ipaddress.ip_interface(group(grp)["vips"][0]).ip)


def docker(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def announce_ip(name: str, var: str = "redis_ha_announce_ip") -> str:
    """The address the roles announce for a node (the node-wide redis_ha_announce_ip, which every role
    follows), from the inventory: the tools never use a node's default-route address."""
    hv = host_vars(name)
    value = hv.get(var) or hv.get("redis_ha_announce_ip")
    if not value or "{{" in str(value):
        raise ValueError("%s: the lab tools need a literal %s in %s/host_vars/%s.yml (got %r)"
                         % (name, var, INVENTORY, name, value))
    return str(value)


def node_ip(name: str) -> str | None:
    """A node's announced Redis address (None when its container is not running)."""
    res = docker("inspect", "-f", "{{.State.Running}}", name, check=False)
    if res.returncode != 0 or res.stdout.strip() != "true":
        return None
    return announce_ip(name)


def docker_host_route(address: str) -> str:
    """The control machine's interface towards an address (the service bridge for the VIP)."""
    out = subprocess.run(["ip", "-o", "route", "get", address], capture_output=True, text=True, check=True).stdout
    words = out.split()
    return words[words.index("dev") + 1]


def node_ips() -> dict[str, str | None]:
    return {name: node_ip(name) for name in nodes()}


def redis_port(grp: str | None = None) -> int:
    return int(group(grp)["redis_port"])


def sentinel_port(grp: str | None = None) -> int:
    return int(group(grp)["sentinel_port"])


def master_name(grp: str | None = None) -> str:
    return group(grp)["master_name"]


def redis_client(host: str, user: str = "admin", timeout: float = 1.0, password: str | None = None,
                 grp: str | None = None) -> redis.Redis:
    """A client of one node's Redis as an ACL user of the lab (admin or default), with the inventory's password
    unless one is given (a rotation test)."""
    gv = group_vars()
    if user == "default":
        username, password = None, password or gv["redis_password"]
    else:
        username, password = gv.get("redis_admin_user", "admin"), password or gv["redis_admin_password"]
    return redis.Redis(host=host, port=redis_port(grp), username=username, password=password,
                       socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                       **tls_kwargs())


def vip_client(timeout: float = 0.5, password: str | None = None, grp: str | None = None) -> redis.Redis:
    """An application client (default user) talking to a group's VIP, as clients do (the inventory's password
    unless one is given)."""
    return redis_client(vip(grp), user="default", timeout=timeout, password=password, grp=grp)


def sentinel_client(host: str, timeout: float = 1.0, password: str | None = None,
                    grp: str | None = None) -> redis.Redis:
    """A client of one node's Sentinel (the inventory's password unless one is given; TLS when the lab has it on)."""
    password = password or group_vars()["redis_ha_sentinel_password"]
    return redis.Redis(host=host, port=sentinel_port(grp), password=password,
                       socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                       **tls_kwargs())


def sentinel_master(host: str, timeout: float = 1.0, password: str | None = None,
                    grp: str | None = None) -> str | None:
    """What one node's Sentinel of a group names as master ("ip:port"), or None when it does not answer."""
    cli = sentinel_client(host, timeout, password, grp)
    try:
        addr = cli.execute_command("SENTINEL", "get-master-addr-by-name", master_name(grp))
    except (redis.RedisError, OSError):
        return None
    finally:
        cli.close()
    if not addr:
        return None
    return "%s:%s" % (addr[0].decode(), addr[1].decode())


def redis_role(host: str, grp: str | None = None) -> str | None:
    """ROLE of one node's server of a group ("master"/"slave"), or None when it does not answer."""
    cli = redis_client(host, grp=grp)
    try:
        return cli.execute_command("ROLE")[0].decode()
    except (redis.RedisError, OSError):
        return None
    finally:
        cli.close()


def vip_holders(grp: str | None = None) -> list[str]:
    """Nodes that currently have a group's VIP on an interface."""
    address = vip(grp)
    holders = []
    for name in nodes():
        res = docker("exec", name, "ip", "-o", "addr", "show", check=False, timeout=10)
        if res.returncode == 0 and (" %s/" % address) in res.stdout:
            holders.append(name)
    return holders


def wait_for(predicate, timeout: float, step: float = 0.2):
    """Calls predicate every `step` seconds until it returns a true value or `timeout` seconds have passed; returns
    its last value (false on a timeout). The tests' and drills' one bounded wait."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def group_master(grp: str | None = None, ips: dict | None = None) -> str | None:
    """The node whose server of a group answers ROLE master (None when none or several do)."""
    ips = ips or node_ips()
    masters = [n for n, ip in ips.items() if ip and redis_role(ip, grp=grp) == "master"]
    return masters[0] if len(masters) == 1 else None


def group_settled(grp: str | None = None, ips: dict | None = None) -> str | None:
    """A group's master node once it is settled: one master, every Sentinel of the group naming it and the group's
    VIP on it only; None otherwise."""
    ips = ips or node_ips()
    master = group_master(grp, ips)
    if not master:
        return None
    named = {sentinel_master(ip, grp=grp) for ip in ips.values() if ip}
    if named != {"%s:%d" % (ips[master], redis_port(grp))}:
        return None
    return master if vip_holders(grp) == [master] else None


def status() -> list[dict]:
    """One row per node: Redis role, Sentinel's master, VIP (the drills' health reports)."""
    holders = vip_holders()
    rows = []
    for name, ip in node_ips().items():
        rows.append({
            "node": name,
            "address": ip or "-",
            "redis_role": (redis_role(ip) if ip else None) or "down",
            "sentinel_master": (sentinel_master(ip) if ip else None) or "-",
            "vip": "yes" if name in holders else "",
        })
    return rows
