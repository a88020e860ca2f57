#!/usr/bin/env python3
"""An N-node lab (3..9 nodes): the Molecule default scenario's containers, N of them, and an inventory for them.

    python tools/lab_nodes.py up 5      create redis-ha-1..5 (or reuse them), write .cache/lab-5, mark it in use
    python tools/lab_nodes.py inventory  the inventory folder in use (empty when none: the three-node lab's)
    python tools/lab_nodes.py down       remove the nodes made here and the lab networks, forget the inventory

scripts/lab.sh runs it for `make lab NODES=N` (N other than 3; three nodes stay the Molecule scenario's). Node k
is redis-ha-k with the k-th address of each network; everything else a node is made of (image, capabilities,
sysctls, tmpfs, cgroup, networks and their IPAM) is read from molecule/default/molecule.yml, the one definition.
The inventory (.cache/lab-N: hosts.yml, host_vars with redis_ha_announce_ip, group_vars linked to
inventories/lab/group_vars) is what the tools read through REDIS_HA_LAB_INVENTORY (tools/lab.py);
.cache/lab-inventory names it for `make lab-status` and `make lab-down`. Only the docker CLI is used.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "molecule" / "default" / "molecule.yml"
MARKER = ROOT / ".cache" / "lab-inventory"
LABEL = "redis-ha-lab"  # docker label of the nodes made here (Molecule labels its own owner=molecule)
MIN_NODES, MAX_NODES = 3, 9
NODE_NAME = re.compile(r"^redis-ha-\d+$")


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def template() -> dict:
    """The scenario's first platform (YAML merge keys resolved): the definition every node is made from."""
    return yaml.safe_load(SCENARIO.read_text())["platforms"][0]


def expand(value: str) -> str:
    """${NAME:-default} and ${NAME} as Molecule expands them in molecule.yml."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m.group(1)) or m.group(2) or "", value)


def node_name(k: int, spec: dict | None = None) -> str:
    return "%s-%d" % ((spec or template())["name"].rsplit("-", 1)[0], k)


def node_addresses(k: int, spec: dict | None = None) -> list[tuple[str, str]]:
    """(network, address) of node k on each network: the first node's address + k - 1."""
    return [(net["name"], str(ipaddress.ip_address(net["ipv4_address"]) + k - 1))
            for net in (spec or template())["networks"]]


def announce_ip(k: int) -> str:
    """Node k's service-network address (inventories/lab: the network of the first node's redis_ha_announce_ip)."""
    first = yaml.safe_load((ROOT / "inventories" / "lab" / "host_vars" / ("%s.yml" % node_name(1))).read_text())
    service = ipaddress.ip_address(first["redis_ha_announce_ip"])
    return str(service + k - 1)


def network_create_args(net: dict, label: str = LABEL) -> list[str]:
    args = ["network", "create", "--driver", "bridge"]
    for key, value in (net.get("driver_options") or {}).items():
        args += ["-o", "%s=%s" % (key, value)]
    for ipam in net.get("ipam_config") or []:
        args += ["--subnet", ipam["subnet"], "--gateway", ipam["gateway"]]
        args += ["--ip-range", ipam["iprange"]] if ipam.get("iprange") else []
        for name, address in (ipam.get("aux_addresses") or {}).items():
            args += ["--aux-address", "%s=%s" % (name, address)]
    return args + ["--label", label, net["name"]]


def ensure_networks() -> None:
    for net in template().get("docker_networks") or []:
        if docker("network", "inspect", net["name"], check=False).returncode != 0:
            docker(*network_create_args(net))


def container_create_args(k: int, spec: dict | None = None, label: str = LABEL) -> list[str]:
    """docker create of node k, on its first network (the others are connected before it starts); spec and label
    default to the scenario's node and the lab's label (tools/bench_ssh.py passes its own)."""
    spec = spec or template()
    name = node_name(k, spec)
    args = ["create", "--name", name, "--hostname", name, "--label", label, "--log-driver", "json-file",
            "--cgroupns", spec.get("cgroupns_mode", "private")]
    args += [a for cap in spec.get("capabilities") or [] for a in ("--cap-add", cap)]
    args += [a for opt in spec.get("security_opts") or [] for a in ("--security-opt", opt)]
    args += [a for vol in spec.get("volumes") or [] for a in ("-v", vol)]
    args += [a for path in spec.get("tmpfs") or [] for a in ("--tmpfs", path)]
    args += [a for key, value in (spec.get("sysctls") or {}).items() for a in ("--sysctl", "%s=%s" % (key, value))]
    network, address = node_addresses(k, spec)[0]
    args += ["--network", network, "--ip", address]
    if spec.get("override_command", True) or spec.get("command"):
        sys.exit("%s: the lab nodes keep the image's command (override_command: false)" % SCENARIO)
    return args + [expand(spec["image"])]


def create_node(k: int, spec: dict | None = None, label: str = LABEL) -> None:
    docker(*container_create_args(k, spec, label))
    for network, address in node_addresses(k, spec)[1:]:
        docker("network", "connect", "--ip", address, network, node_name(k, spec))
    docker("start", node_name(k, spec))


def lab_containers(all_states: bool = True, label: bool = False) -> list[str]:
    """Names of the containers named like lab nodes (only those made here with label)."""
    args = ["ps", "--format", "{{.Names}}"] + (["-a"] if all_states else [])
    args += ["--filter", "label=" + LABEL] if label else []
    return sorted(n for n in docker(*args).stdout.split() if NODE_NAME.match(n))


def inventory_dir(nodes: int) -> pathlib.Path:
    return ROOT / ".cache" / ("lab-%d" % nodes)


def write_inventory(nodes: int) -> pathlib.Path:
    """hosts.yml, host_vars (redis_ha_announce_ip) and group_vars (a link to inventories/lab's) for N nodes."""
    inv = inventory_dir(nodes)
    (inv / "host_vars").mkdir(parents=True, exist_ok=True)
    lab_hosts = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())["redis_ha"]
    # the same variables as the three-node lab (the Sentinels' quorum defaults to a majority of the group)
    hosts = {"redis_ha": {"hosts": {node_name(k): None for k in range(1, nodes + 1)}, "vars": lab_hosts["vars"]}}
    (inv / "hosts.yml").write_text("---\n# %d-node lab made by tools/lab_nodes.py\n%s"
                                   % (nodes, yaml.safe_dump(hosts, sort_keys=False, default_flow_style=False)))
    for k in range(1, nodes + 1):
        (inv / "host_vars" / ("%s.yml" % node_name(k))).write_text(
            "---\nredis_ha_announce_ip: %s\n" % announce_ip(k))
    link = inv / "group_vars"
    if not link.is_symlink():
        link.symlink_to(os.path.relpath(ROOT / "inventories" / "lab" / "group_vars", inv))
    return inv


def in_use() -> pathlib.Path | None:
    """The N-node inventory marked in use, if its folder is still there."""
    if MARKER.exists() and (pathlib.Path(MARKER.read_text().strip()) / "hosts.yml").exists():
        return pathlib.Path(MARKER.read_text().strip())
    return None


def up(nodes: int) -> pathlib.Path:
    """N running nodes made here (reused when exactly they run already) and their inventory, marked in use."""
    wanted = [node_name(k) for k in range(1, nodes + 1)]
    if lab_containers(all_states=False, label=True) == sorted(wanted) and lab_containers() == sorted(wanted):
        print("==> The %d lab nodes are running: reusing them" % nodes, flush=True)
    else:
        remove_nodes(lab_containers())  # any other lab, Molecule's three nodes too (its next create starts afresh)
        print("==> Creating %d lab nodes: %s" % (nodes, " ".join(wanted)), flush=True)
        ensure_networks()
        for k in range(1, nodes + 1):
            create_node(k)
    inv = write_inventory(nodes)
    MARKER.write_text("%s\n" % inv)
    return inv


def remove_nodes(names: list[str]) -> None:
    if names:
        print("==> Removing %s" % " ".join(names), flush=True)
        docker("rm", "-f", "-v", *names)


def remove_networks() -> None:
    """The lab networks, unless a container still uses them."""
    for net in template().get("docker_networks") or []:
        res = docker("network", "inspect", "-f", "{{len .Containers}}", net["name"], check=False)
        if res.returncode == 0 and res.stdout.strip() == "0":
            docker("network", "rm", net["name"])


def down() -> None:
    remove_nodes(lab_containers(label=True))
    remove_networks()
    MARKER.unlink(missing_ok=True)


def node_count(text: str) -> int:
    value = int(text)
    if not MIN_NODES <= value <= MAX_NODES:
        raise argparse.ArgumentTypeError("between %d and %d nodes" % (MIN_NODES, MAX_NODES))
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("up").add_argument("nodes", type=node_count)
    sub.add_parser("inventory")
    sub.add_parser("down")
    args = parser.parse_args(argv)
    if args.action == "up":
        print("==> Inventory %s" % up(args.nodes))
    elif args.action == "inventory":
        print(in_use() or "")
    else:
        down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
