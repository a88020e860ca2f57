# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter naming a unit, file or directory of one Redis group on a host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: per_group
short_description: The name of a unit, file or directory for one Redis group of a host
version_added: 1.1.0
description:
  - The one rule of the per-host layout of several groups (docs/group-model.md). The group C(ha), the only
    group of release 1.0, keeps today's names (the packaged units, C(/var/lib/redis)), so that a group deployed
    by 1.0 is taken over in place; any other group C(NAME) appends the separator and its name
    (Debian's template unit C(redis-server@NAME), C(/var/lib/redis/NAME), C(/run/redis-NAME)).
options:
  _input:
    description: The name of the group C(ha) (a unit, a path).
    type: str
    required: true
  group:
    description: The group's name.
    type: str
    required: true
  separator:
    description: What joins the name and the group's name (C(@) for a template unit, C(/) for a directory).
    type: str
    default: "@"
"""

EXAMPLES = r"""
- name: The server unit of the group cache
  ansible.builtin.debug:
    msg: "{{ 'redis-server' | redis_ha.sentinel_vip.per_group('cache') }}"  # redis-server@cache
"""

RETURN = r"""
_value:
  description: The name unchanged for the group C(ha), else the name, the separator and the group's name.
  type: str
"""

DEFAULT_GROUP = "ha"


def per_group(name, group, separator="@"):
    """Name of `name` for the group `group` (the group ha keeps it)."""
    return name if group == DEFAULT_GROUP else "%s%s%s" % (name, separator, group)


class FilterModule:
    """Filters of redis_ha.sentinel_vip."""

    def filters(self):
        return {"per_group": per_group}
