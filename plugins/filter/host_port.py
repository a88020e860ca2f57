# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter: an address and a port as one endpoint, host:port (an IPv6 address in brackets)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: host_port
short_description: An address and a port as one endpoint, HOST:PORT (an IPv6 address in brackets)
version_added: 1.1.0
description:
  - The one definition of the endpoint strings the collection hands between nodes, such as the fact
    C(sentinel_endpoint) (C(192.0.2.11:26379), C([2001:db8::11]:26379)).
options:
  _input:
    description: The address (or a host name).
    type: str
    required: true
  port:
    description: The TCP port.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: This node's Sentinel endpoint
  ansible.builtin.debug:
    msg: "{{ redis_ha_announce_ip | redis_ha.sentinel_vip.host_port(26379) }}"
"""

RETURN = r"""
_value:
  description: C(HOST:PORT), the host in brackets when it holds a colon (IPv6).
  type: str
"""


def host_port(host, port):
    """'HOST:PORT', an IPv6 address (any host with a colon) in brackets."""
    host = str(host)
    return "%s:%s" % ("[%s]" % host if ":" in host else host, port)


class FilterModule:
    """Filters of redis_ha.sentinel_vip."""

    def filters(self):
        return {"host_port": host_port}
