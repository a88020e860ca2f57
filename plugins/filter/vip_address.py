# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter: a VIP without its prefix (plugins/plugin_utils/vip.py)."""

from __future__ import annotations

from ansible_collections.redis_ha.sentinel_vip.plugins.plugin_utils.vip import vip_text

DOCUMENTATION = r"""
name: vip_address
short_description: A virtual IP address without its prefix length
version_added: 1.1.0
description:
  - The one definition the roles use for a VIP's address (C(192.0.2.100/24) gives C(192.0.2.100)), as written;
    the controller plugins parse it with the same module (plugins/plugin_utils/vip.py).
options:
  _input:
    description: A VIP, C(ADDRESS/PREFIX) or C(ADDRESS).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The addresses of the group's VIPs
  ansible.builtin.debug:
    msg: "{{ redis_ha_vips | map('redis_ha.sentinel_vip.vip_address') | list }}"
"""

RETURN = r"""
_value:
  description: The VIP without its C(/PREFIX).
  type: str
"""


class FilterModule:
    """Filters of redis_ha.sentinel_vip."""

    def filters(self):
        return {"vip_address": vip_text}
