# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter picking one group's entry of redis_ha_groups."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: group_entry
short_description: The entry of one Redis group in redis_ha_groups
version_added: 1.1.0
description:
  - The roles resolve the values that differ between the groups of a host (ports, master name, VIPs, router
    id) from this entry, and every other value from the host's variables (docs/group-model.md). The group
    C(ha), today's single group, has no entry; its values are the host's C(redis_ha_*) variables.
options:
  _input:
    description: The list C(redis_ha_groups) (each entry a dictionary with C(name)).
    type: list
    elements: dict
    required: true
  name:
    description: The group's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The Redis port of the group cache
  ansible.builtin.debug:
    msg: "{{ (redis_ha_groups | redis_ha.sentinel_vip.group_entry('cache')).redis_port }}"
"""

RETURN = r"""
_value:
  description: The entry whose C(name) is the group's, an empty dictionary for the group C(ha).
  type: dict
"""


def group_entry(groups, name):
    """The entry of redis_ha_groups named `name` ({} for the group ha)."""
    if name == "ha":
        return {}
    for entry in groups or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise AnsibleFilterError("redis_ha_groups has no group named %r (redis_ha_group_name)" % (name,))


class FilterModule:
    """Filters of redis_ha.sentinel_vip."""

    def filters(self):
        return {"group_entry": group_entry}
