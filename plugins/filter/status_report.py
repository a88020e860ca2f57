# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter of playbooks/status.yml: the group's status from what each node answered (the table for people is
the status_table filter)."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.redis_ha.sentinel_vip.plugins.plugin_utils.vip import vip_address

DOCUMENTATION = r"""
name: status_report
short_description: The status of a redis_ha group from what playbooks/status.yml read on each node
version_added: "1.0.0"
description:
  - Given the inventory's host variables after the first play of C(playbooks/status.yml), returns the group's
    master (the address most nodes' Sentinels name), the holders of each VIP and one row per node with engine and
    version, Redis role, the master its Sentinel names, the VIPs it holds, its replication offset lag behind the
    master, the VIP check's verdict and reason, and the state of the exporters' systemd units.
  - A node whose fact gathering failed (unreachable over SSH, a stopped container) is reported with role
    C(unreachable) and the connection's error as its reason.
options:
  _input:
    description: The inventory's host variables (C(hostvars)).
    type: dict
    required: true
  hosts:
    description: The nodes of the group, in inventory order.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The group's status as JSON
  ansible.builtin.debug:
    msg: "{{ hostvars | redis_ha.sentinel_vip.status_report(groups['redis_ha']) | to_nice_json }}"
"""

RETURN = r"""
_value:
  description: C(master) (node or address, or null), C(vip_holders) (VIP to its holders) and C(nodes) (rows).
  type: dict
"""

# systemd units counted as exporters: <name>exporter[@instance].service, for Redis/Valkey/Sentinel or node_exporter
# (the packaged prometheus-redis-exporter, the metrics role's redis-ha-exporter@redis / @sentinel,
# prometheus-node-exporter; not node_exporter's collector units such as prometheus-node-exporter-apt).
EXPORTER_UNIT = re.compile(r"^(?=[\w.-]*(redis|valkey|sentinel|node))[\w.-]*exporter(@[\w.-]+)?\.service$")


def _canonical(hostport):
    """'host:port' / '[v6]:port' in one spelling (IP literals canonical), or None."""
    if not hostport or ":" not in str(hostport):
        return None
    host, port = str(hostport).rsplit(":", 1)
    host = host.strip("[]")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.lower()
    return "%s:%s" % (host, port)


def _info(result):
    """INFO reply of redis_command as a dict, {} when Redis did not answer."""
    if not isinstance(result, dict) or result.get("failed") or not isinstance(result.get("reply"), str):
        return {}
    pairs = (line.split(":", 1) for line in result["reply"].splitlines() if ":" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _engine(info):
    if not info:
        return "-", "-"
    engine = info.get("server_name", "redis")
    return engine, info.get("%s_version" % engine, info.get("redis_version", "-"))


def _own_sentinel_master(check, endpoint):
    """What the node's own Sentinel names as master, from the VIP check's answers."""
    for answer in (check or {}).get("sentinels") or []:
        if _canonical(answer.get("address")) == _canonical(endpoint):
            return _canonical(answer.get("master"))
    return None


def _vips(hv):
    """The group's VIPs (no prefix) as a node knows them: the redis role's endpoint fact redis_node_vips (the group
    of -e redis_ha_group_name), else the inventory's (the group ha's)."""
    vips = hv.get("redis_node_vips") or hv.get("keepalived_vips") or hv.get("redis_ha_vips") or []
    return [str(a) for a in (vip_address(v) for v in vips) if a is not None]


def _held(hv, vips):
    facts = hv.get("ansible_facts") or {}
    local = {str(ipaddress.ip_address(a.split("%")[0]))
             for a in (facts.get("all_ipv4_addresses") or []) + (facts.get("all_ipv6_addresses") or [])}
    return [vip for vip in vips if vip in local]


def _exporters(hv):
    """State of each exporter unit, leaving out disabled or masked units that do not run (the package's own)."""
    services = (hv.get("ansible_facts") or {}).get("services") or {}
    return {name: unit.get("state", "unknown") for name, unit in sorted(services.items())
            if EXPORTER_UNIT.match(name) and (unit.get("state") == "running"
                                              or unit.get("status") not in ("disabled", "masked"))}


# The keys of a node's row (lag_bytes is added by status_report); an unreachable node's are null.
FIELDS = ("node", "reachable", "address", "engine", "version", "role", "sentinel_master", "vips", "offset", "check",
          "reason", "exporters")


def _node(name, hv):
    """One node's row from its registered results."""
    setup = hv.get("status_setup") or {}
    if "ansible_facts" not in setup:
        return dict(dict.fromkeys(FIELDS), node=name, reachable=False, role="unreachable", vips=[], exporters={},
                    reason=(str(setup.get("module_stderr") or setup.get("msg") or "no answer").strip().splitlines()
                            or ["no answer"])[-1])
    info = _info(hv.get("status_info"))
    check = hv.get("status_check") or {}
    engine, version = _engine(info)
    role = {"master": "master", "slave": "replica"}.get(info.get("role"), "down" if not info else info.get("role"))
    address = _canonical("%s:%s" % (hv.get("redis_node_ip"), hv.get("redis_node_port")))
    row = {"node": name, "reachable": True, "address": address,
           "engine": engine, "version": version, "role": role,
           "sentinel_master": _own_sentinel_master(check, hv.get("sentinel_endpoint")),
           "vips": _held(hv, _vips(hv)), "offset": int(info["master_repl_offset"]) if info else None,
           "check": check.get("verdict") or "-", "reason": check.get("reason") or check.get("msg") or "-",
           "exporters": _exporters(hv)}
    return row


def status_report(hostvars, hosts):
    """The group's status: master, VIP holders and a row per node (see DOCUMENTATION)."""
    rows = [_node(name, hostvars[name]) for name in hosts]
    named = [row["sentinel_master"] for row in rows if row.get("sentinel_master")]
    master_address = max(set(named), key=named.count) if named else None
    by_address = {row.get("address"): row for row in rows if row.get("address")}
    master = by_address.get(master_address)
    for row in rows:
        if row.get("sentinel_master") in by_address:
            row["sentinel_master"] = by_address[row["sentinel_master"]]["node"]
        reference = master.get("offset") if master else None
        # The offsets are read one node after the other: a replica read after the master may be ahead of it (0).
        known = reference is not None and row.get("offset") is not None
        row["lag_bytes"] = max(0, reference - row["offset"]) if known else None
    # the group's VIPs as the nodes that answered know them (a node without the endpoint fact knows the group ha's)
    knowing = [name for name in hosts if hostvars[name].get("redis_node_vips")] or hosts
    vips = sorted({vip for name in knowing for vip in _vips(hostvars[name])})
    holders = {vip: [row["node"] for row in rows if vip in row.get("vips", [])] for vip in vips}
    return {"master": master["node"] if master else master_address, "vip_holders": holders, "nodes": rows}


class FilterModule:
    """status_report filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"status_report": status_report}
