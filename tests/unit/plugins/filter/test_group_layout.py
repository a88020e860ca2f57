"""Unit tests of the per-host layout of several Redis groups (docs/group-model.md): per_group names a group's
unit or path (the group ha keeps today's, so a 1.0 group is taken over in place), group_entry picks a group's
entry of redis_ha_groups and refuses a name that is not there."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redis_ha.sentinel_vip.plugins.filter.group_entry import group_entry
from ansible_collections.redis_ha.sentinel_vip.plugins.filter.per_group import per_group


@pytest.mark.parametrize("name,group,sep,expected", [
    ("redis-server", "ha", "@", "redis-server"),
    ("redis-server", "cache", "@", "redis-server@cache"),
    ("/var/lib/valkey", "cache", "/", "/var/lib/valkey/cache"),
    ("/run/redis", "cache", "-", "/run/redis-cache"),
    ("/run/redis", "ha", "-", "/run/redis"),
])
def test_per_group_keeps_the_group_ha_and_names_the_others(name, group, sep, expected):
    assert per_group(name, group, sep) == expected


def test_group_entry_picks_the_named_group_and_none_for_ha():
    groups = [{"name": "cache", "redis_port": 6381}, {"name": "queue", "redis_port": 6382}]
    assert group_entry(groups, "queue")["redis_port"] == 6382
    assert group_entry(groups, "ha") == {}
    assert group_entry(None, "ha") == {}


def test_group_entry_refuses_an_unknown_group():
    with pytest.raises(AnsibleFilterError, match="no group named 'other'"):
        group_entry([{"name": "cache"}], "other")
