# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter finding other VRRP groups of the inventory that use the same router id on a network."""

from __future__ import annotations

import ipaddress

from ansible_collections.redis_ha.sentinel_vip.plugins.plugin_utils.vip import vip_address

DOCUMENTATION = r"""
name: vrid_clashes
short_description: Hosts of other VRRP groups using the same virtual router id on the same network
version_added: "1.0.0"
description:
  - Given the inventory's host variables, returns the hosts outside the group with a VRRP group of the same
    router id as O(router_id) and a VIP in one of O(networks) - a host's VRRP groups are its
    C(keepalived_virtual_router_id) with its C(keepalived_vips) (else the group-wide C(redis_ha_vips)), and each
    entry of its C(redis_ha_groups) with the entry's C(virtual_router_id) and C(vips).
options:
  _input:
    description: The inventory's host variables (C(hostvars)), host name to its variables.
    type: dict
    required: true
  hosts:
    description: Hosts to look at (the inventory's hosts outside the group).
    type: list
    elements: str
    required: true
  router_id:
    description: The group's keepalived_virtual_router_id.
    type: raw
    required: true
  networks:
    description: The group's VRRP networks (address/prefix).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Other groups with this router id on this network
  ansible.builtin.debug:
    msg: >-
      {{ hostvars | redis_ha.sentinel_vip.vrid_clashes(groups['all'] | reject('in', groups['redis_ha']) | list,
         51, ['192.0.2.0/24']) }}
"""

RETURN = r"""
_value:
  description: The clashing hosts, in the order of O(hosts).
  type: list
  elements: str
"""


def _vrrp_groups(variables):
    """(router id, VIPs) of each VRRP group a host's variables set: today's group, then redis_ha_groups."""
    found = [(variables.get("keepalived_virtual_router_id"),
              variables.get("keepalived_vips", variables.get("redis_ha_vips")))]
    further = variables.get("redis_ha_groups") or []
    if isinstance(further, (list, tuple)):
        found += [(e.get("virtual_router_id"), e.get("vips")) for e in further if isinstance(e, dict)]
    return found


def vrid_clashes(hostvars, hosts, router_id, networks):
    """Hosts among hosts using router_id for a VIP inside one of networks (in any of their VRRP groups)."""
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    clashes = []
    for host in hosts:
        for other_id, vips in _vrrp_groups(hostvars[host]):
            if other_id is None or str(other_id) != str(router_id) or not isinstance(vips, (list, tuple)):
                continue
            addresses = [vip_address(v) for v in vips if isinstance(v, str)]
            if any(a is not None and any(a in n for n in nets) for a in addresses):
                clashes.append(host)
                break
    return clashes


class FilterModule:
    """vrid_clashes filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"vrid_clashes": vrid_clashes}
