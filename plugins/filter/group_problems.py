# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter listing what is wrong with the additional groups of a host (redis_ha_groups, issue 27)."""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.redis_ha.sentinel_vip.plugins.plugin_utils.vip import vip_address

DOCUMENTATION = r"""
name: group_problems
short_description: What is wrong with the additional Redis groups of a host (redis_ha_groups)
version_added: "1.1.0"
description:
  - Examines C(redis_ha_groups), the list of the groups a host runs besides today's group (named C(ha), from the
    C(redis_ha_*) and role variables), and returns one message per problem, naming the group and the field and
    saying what is expected.
  - "Each entry: C(name) (required; V(^[a-z][a-z0-9]{0,14}$), not the name of today's group), C(redis_port),
    C(sentinel_port) (required, 1-65535), C(master_name) (required; letters, digits, C(_), C(.), C(-)), C(vips)
    (required; a non-empty list of unicast addresses, ADDRESS/PREFIX), C(virtual_router_id) (required, 1-255),
    C(tls_plaintext_port) and C(sentinel_tls_plaintext_port) (1-65535; required when O(tls_plaintext) is true),
    C(bootstrap_master) (optional; a member that is not a witness). Any other key is refused. Ports and router ids
    may be integers or strings of digits."
  - Across all the groups of the host, today's included, refuses a TCP port used twice (server, Sentinel and
    plaintext ports), a VRRP router id, a VIP address, a Sentinel master name or a group name used twice.
  - An empty list has no problem. Cross-group rules only compare values that are valid themselves.
options:
  _input:
    description: The host's C(redis_ha_groups).
    type: list
    elements: dict
    required: true
  name:
    description: Name of today's group, reserved (no additional group may take it).
    type: str
    default: ha
  redis_port:
    description: Today's group's server port (C(redis_port)).
    type: raw
  sentinel_port:
    description: Today's group's Sentinel port (C(sentinel_port)).
    type: raw
  master_name:
    description: Today's group's Sentinel master name (C(redis_master_name)).
    type: str
  vips:
    description: Today's group's VIPs (C(keepalived_vips)).
    type: list
    elements: str
    default: []
  virtual_router_id:
    description: Today's group's VRRP router id (C(keepalived_virtual_router_id)).
    type: raw
  tls_plaintext:
    description:
      - The group-wide C(redis_ha_tls_plaintext) - each additional group needs a C(tls_plaintext_port) and a
        C(sentinel_tls_plaintext_port); their plaintext ports are compared with the other ports only then.
    type: bool
    default: false
  tls_plaintext_port:
    description: Today's group's server plaintext port (C(redis_tls_plaintext_port)) when it is open, else C(none).
    type: raw
  sentinel_tls_plaintext_port:
    description: Today's group's Sentinel plaintext port (C(sentinel_tls_plaintext_port)) when it is open, else C(none).
    type: raw
  members:
    description: The inventory host names of the members (a C(bootstrap_master) must be one).
    type: list
    elements: str
    default: []
  witnesses:
    description: The inventory host names of the witnesses (Sentinel only; never a C(bootstrap_master)).
    type: list
    elements: str
    default: []
  host_variables:
    description:
      - The names of the host's own variables (inventory and extra variables, C(hostvars[inventory_hostname])).
        With additional groups, a role variable that differs between the groups (such as C(redis_port)) set
        there would apply to every group of the host; each is refused, naming the group-wide variable and the
        entry's key to set instead.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse bad additional groups
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "redis_ha_groups on {{ inventory_hostname }}: {{ problems | join('; ') }}."
  vars:
    problems: >-
      {{ redis_ha_groups | default([]) | redis_ha.sentinel_vip.group_problems(
         redis_port=redis_port, sentinel_port=sentinel_port, master_name=redis_master_name,
         vips=keepalived_vips, virtual_router_id=keepalived_virtual_router_id,
         tls_plaintext=redis_ha_tls_plaintext | default(false) | bool,
         members=groups['redis_ha'], witnesses=redis_witnesses) }}
"""

RETURN = r"""
_value:
  description: One message per problem (the group, the field and what is expected), empty when all are fine.
  type: list
  elements: str
"""

NAME = re.compile(r"^[a-z][a-z0-9]{0,14}$")
MASTER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
REQUIRED = ("name", "redis_port", "sentinel_port", "master_name", "vips", "virtual_router_id")
OPTIONAL = ("tls_plaintext_port", "sentinel_tls_plaintext_port", "bootstrap_master")
PORT_FIELDS = ("redis_port", "sentinel_port", "tls_plaintext_port", "sentinel_tls_plaintext_port")
PLAINTEXT_FIELDS = ("tls_plaintext_port", "sentinel_tls_plaintext_port")
# today's group: its fields as the additional groups name them, and the variable that sets each
TODAY_VARIABLES = {
    "redis_port": "redis_ha_redis_port",
    "sentinel_port": "redis_ha_sentinel_port",
    "tls_plaintext_port": "redis_tls_plaintext_port",
    "sentinel_tls_plaintext_port": "sentinel_tls_plaintext_port",
    "master_name": "redis_ha_master_name",
    "vips": "redis_ha_vips",
    "virtual_router_id": "keepalived_virtual_router_id",
}


def _integer(value, low, high):
    """value as an int when it is an integer (or a string of digits) from low to high, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.match(r"^[0-9]+$", value.strip()):
        value = int(value)
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def _vip_address(vip):
    """The address of a VIP written ADDRESS/PREFIX (a usable unicast address of its subnet), else None."""
    if not isinstance(vip, str) or "/" not in vip:
        return None
    try:
        iface = ipaddress.ip_interface(vip.strip())
    except ValueError:
        return None
    address, net = iface.ip, iface.network
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return None
    if net.num_addresses > 2 and address in (net.network_address, net.broadcast_address):
        return None
    return address


def _today_address(vip):
    """The address of one of today's VIPs (ADDRESS/PREFIX or a bare ADDRESS; the roles check it), else None."""
    return vip_address(vip)


def _show(value):
    """A value as a message shows it: a string quoted, anything else as JSON."""
    if isinstance(value, str):
        return "'%s'" % value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


class _Group:
    """One group's messages: 'group NAME (redis_ha_groups[I]) FIELD ...'."""

    def __init__(self, index, entry):
        self.index = index
        name = entry.get("name") if isinstance(entry, dict) else None
        self.name = name if isinstance(name, str) and NAME.match(name) else None
        self.label = ("group %s (redis_ha_groups[%d])" % (self.name, index) if self.name
                      else "redis_ha_groups[%d]" % index)

    def field(self, key):
        return "%s %s" % (self.label, key)


def _owner_text(owner):
    """How a message names the group and field that already holds a value."""
    group, key = owner
    if isinstance(group, str):  # today's group, by its name
        what = "one of the vips" if key == "vips" else "the %s" % key
        return "%s of group %s (%s)" % (what, group, TODAY_VARIABLES.get(key, key))
    return "the %s of %s" % (key, group.label)


def _entry_problems(group, entry, tls_plaintext, members, witnesses):
    """(problems, valid values) of one entry, the schema only."""
    if not isinstance(entry, dict):
        return ["%s is %s: expected a mapping with name, redis_port, sentinel_port, master_name, vips and "
                "virtual_router_id" % (group.label, _show(entry))], {}
    problems, valid = [], {}
    unknown = sorted(str(k) for k in entry if k not in REQUIRED + OPTIONAL)
    if unknown:
        problems.append("%s has the unknown key%s %s: expected only %s (every other setting comes from the host's "
                        "variables)" % (group.label, "s" if len(unknown) > 1 else "", ", ".join(unknown),
                                        ", ".join(REQUIRED + OPTIONAL)))
    required = REQUIRED + (PLAINTEXT_FIELDS if tls_plaintext else ())
    for key in required:
        if key not in entry or entry[key] is None:
            why = " (redis_ha_tls_plaintext is true)" if key in PLAINTEXT_FIELDS else ""
            problems.append("%s is missing%s: expected %s" % (group.field(key), why, _EXPECTED[key]))

    def bad(key):
        problems.append("%s is %s: expected %s" % (group.field(key), _show(entry[key]), _EXPECTED[key]))

    present = {k: v for k, v in entry.items() if k in REQUIRED + OPTIONAL and v is not None}
    if "name" in present:
        if group.name is None:
            bad("name")
        else:
            valid["name"] = group.name
    for key in PORT_FIELDS:
        if key in present:
            port = _integer(present[key], 1, 65535)
            if port is None:
                bad(key)
            else:
                valid[key] = port
    if "virtual_router_id" in present:
        vrid = _integer(present["virtual_router_id"], 1, 255)
        if vrid is None:
            bad("virtual_router_id")
        else:
            valid["virtual_router_id"] = vrid
    if "master_name" in present:
        if isinstance(present["master_name"], str) and MASTER_NAME.match(present["master_name"]):
            valid["master_name"] = present["master_name"]
        else:
            bad("master_name")
    if "vips" in present:
        vips = present["vips"]
        if not isinstance(vips, list) or not vips:
            bad("vips")
        else:
            addresses = []
            for i, vip in enumerate(vips):
                address = _vip_address(vip)
                if address is None:
                    problems.append("%s[%d] is %s: expected %s"
                                    % (group.field("vips"), i, _show(vip), _EXPECTED["vip"]))
                else:
                    addresses.append((i, address))
            valid["vips"] = addresses
    if "bootstrap_master" in present:
        master = present["bootstrap_master"]
        if not isinstance(master, str) or master not in members:
            problems.append("%s is %s, not a member of the group (%s): expected the inventory name of a member"
                            % (group.field("bootstrap_master"), _show(master), ", ".join(members)))
        elif master in witnesses:
            problems.append("%s is %s, a witness (redis_ha_witness: Sentinel only, no Redis to start the group on): "
                            "expected a member that holds data" % (group.field("bootstrap_master"), master))
    return problems, valid


# role variables whose default differs between the groups (each role reads its group's entry): set on a host,
# one would apply to every group of it -> what to set instead (today's group's variable, the entry's key)
PER_GROUP_ROLE_VARIABLES = {
    "redis_port": ("redis_ha_redis_port", "redis_port"),
    "sentinel_redis_port": ("redis_ha_redis_port", "redis_port"),
    "keepalived_redis_port": ("redis_ha_redis_port", "redis_port"),
    "sentinel_port": ("redis_ha_sentinel_port", "sentinel_port"),
    "redis_sentinel_port": ("redis_ha_sentinel_port", "sentinel_port"),
    "keepalived_sentinel_port": ("redis_ha_sentinel_port", "sentinel_port"),
    "redis_master_name": ("redis_ha_master_name", "master_name"),
    "sentinel_master_name": ("redis_ha_master_name", "master_name"),
    "keepalived_master_name": ("redis_ha_master_name", "master_name"),
    "redis_vips": ("redis_ha_vips", "vips"),
    "keepalived_vips": ("redis_ha_vips", "vips"),
}


def _role_variable_problems(host_variables):
    """One message per per-group role variable among the host's own variables."""
    return ["%s is set on the host: with redis_ha_groups it would apply to every group of the host; expected %s "
            "for today's group and each entry's %s instead" % (name, *PER_GROUP_ROLE_VARIABLES[name])
            for name in sorted(set(host_variables or ()) & set(PER_GROUP_ROLE_VARIABLES))]


_EXPECTED = {
    "name": "a name of 1 to 15 lower-case letters and digits starting with a letter (it names the units "
            "redis-server@NAME and redis-sentinel@NAME)",
    "redis_port": "a TCP port, an integer from 1 to 65535",
    "sentinel_port": "a TCP port, an integer from 1 to 65535",
    "tls_plaintext_port": "a TCP port, an integer from 1 to 65535 (the server's plaintext port beside its TLS port)",
    "sentinel_tls_plaintext_port": "a TCP port, an integer from 1 to 65535 (Sentinel's plaintext port beside its TLS "
                                   "port)",
    "master_name": "a Sentinel master name of letters, digits, '_', '.' and '-' only",
    "vips": "a non-empty list of virtual IP addresses written ADDRESS/PREFIX, e.g. [\"192.0.2.101/24\"]",
    "vip": "a usable unicast address of its subnet written ADDRESS/PREFIX, e.g. 192.0.2.101/24",
    "virtual_router_id": "a VRRP router id, an integer from 1 to 255",
}


def group_problems(groups, name="ha", redis_port=None, sentinel_port=None, master_name=None, vips=(),
                   virtual_router_id=None, tls_plaintext=False, tls_plaintext_port=None,
                   sentinel_tls_plaintext_port=None, members=(), witnesses=(), host_variables=()):
    """Messages naming each problem of the additional groups (groups: the host's redis_ha_groups)."""
    if groups is None or isinstance(groups, (str, dict)) or not isinstance(groups, (list, tuple)):
        return ["redis_ha_groups is %s: expected a list of groups (or [] for none)" % _show(groups)]
    members, witnesses = list(members or []), list(witnesses or [])
    problems = _role_variable_problems(host_variables) if groups else []
    # value -> (the group that holds it: a _Group, or the name of today's group; its field)
    ports, vrids, addresses, master_names = {}, {}, {}, {}
    group_names = {name: (name, "name")}
    for key, value in (("redis_port", redis_port), ("sentinel_port", sentinel_port),
                       ("tls_plaintext_port", tls_plaintext_port),
                       ("sentinel_tls_plaintext_port", sentinel_tls_plaintext_port)):
        port = _integer(value, 1, 65535)
        if port is not None:
            ports.setdefault(port, (name, key))
    vrid = _integer(virtual_router_id, 1, 255)
    if vrid is not None:
        vrids[vrid] = (name, "virtual_router_id")
    for vip in vips if isinstance(vips, (list, tuple)) else []:
        address = _today_address(vip)
        if address is not None:
            addresses.setdefault(address, (name, "vips"))
    if isinstance(master_name, str) and master_name:
        master_names[master_name] = (name, "master_name")

    def clash(table, value, owner, text, what):
        if value in table:
            problems.append("%s %s is already %s: expected %s" % (owner[0].field(owner[1]), text,
                                                                  _owner_text(table[value]), what))
        else:
            table[value] = owner

    for index, entry in enumerate(groups):
        group = _Group(index, entry)
        found, valid = _entry_problems(group, entry, tls_plaintext, members, witnesses)
        problems.extend(found)
        if "name" in valid:
            if valid["name"] == name:
                problems.append("%s is %s, the name of today's group: expected another name"
                                % (group.field("name"), name))
            else:
                clash(group_names, valid["name"], (group, "name"), valid["name"], "a name no other group has")
        for key in PORT_FIELDS:
            if key in valid and (key not in PLAINTEXT_FIELDS or tls_plaintext):
                clash(ports, valid[key], (group, key), valid[key],
                      "a TCP port no other group on the host uses (server, Sentinel and plaintext ports)")
        if "virtual_router_id" in valid:
            clash(vrids, valid["virtual_router_id"], (group, "virtual_router_id"), valid["virtual_router_id"],
                  "a VRRP router id no other group on the host uses")
        for i, address in valid.get("vips", []):
            clash(addresses, address, (group, "vips[%d]" % i), address,
                  "a VIP address no other group on the host uses")
        if "master_name" in valid:
            clash(master_names, valid["master_name"], (group, "master_name"), valid["master_name"],
                  "a Sentinel master name no other group on the host uses")
    return problems


class FilterModule:
    """group_problems filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"group_problems": group_problems}
