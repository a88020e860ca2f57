"""Pure unit tests of the single definitions of issue 27 step 2: host_port (the endpoint strings such as
sentinel_endpoint) and vip_address / plugins/plugin_utils/vip.py (a VIP without its prefix)."""

import ipaddress
import re

import pytest

from ansible_collections.redis_ha.sentinel_vip.plugins.filter.host_port import host_port
from ansible_collections.redis_ha.sentinel_vip.plugins.plugin_utils.vip import vip_address, vip_text


@pytest.mark.parametrize("host, port, expected", [
    ("192.0.2.11", 26379, "192.0.2.11:26379"),
    ("2001:db8::11", "26379", "[2001:db8::11]:26379"),
    ("redis-ha-1", 26380, "redis-ha-1:26380"),
])
def test_host_port(host, port, expected):
    assert host_port(host, port) == expected


@pytest.mark.parametrize("host", ["192.0.2.11", "2001:db8::11", "fe80::1", "node-1"])
def test_host_port_is_the_roles_former_expression(host):
    """What the roles rendered before: ip | regex_replace('^(.*:.*)$', '[\\\\1]') ~ ':' ~ port."""
    assert host_port(host, 26379) == re.sub(r"^(.*:.*)$", r"[\1]", host) + ":26379"


@pytest.mark.parametrize("vip", ["192.0.2.100/24", "192.0.2.100", "2001:db8::10/64", "2001:DB8::0010/64", "x/1/2"])
def test_vip_text_is_the_roles_former_expression(vip):
    """What the roles rendered before (the bind line, the certificate's names): regex_replace('/.*$', '')."""
    assert vip_text(vip) == re.sub(r"/.*$", "", vip)


def test_vip_address_parses_or_gives_none():
    assert vip_address("192.0.2.100/24") == ipaddress.ip_address("192.0.2.100")
    assert vip_address(" 2001:db8::10/64 ") == ipaddress.ip_address("2001:db8::10")
    assert vip_address("192.0.2.100") == ipaddress.ip_address("192.0.2.100")
    assert vip_address("192.0.2.300/24") is None
    assert vip_address("192.0.2.1/99") is None
    assert vip_address(["192.0.2.1/24"]) is None
