"""Pure unit tests of group_problems, the preflight's check of redis_ha_groups (issue 27; no daemon, no network).

Today's group (named ha) is the lab inventory's; every refusal names the group and the field and says what
is expected; an empty list, and well-formed groups, have no problem.
"""

import pytest

from ansible_collections.redis_ha.sentinel_vip.plugins.filter.group_problems import group_problems

MEMBERS = ["redis-ha-1", "redis-ha-2", "redis-ha-3"]
TODAY = {  # today's group as the preflight passes it
    "redis_port": "6379", "sentinel_port": 26379, "master_name": "lab", "vips": ["172.31.250.100/24"],
    "virtual_router_id": "51", "members": MEMBERS, "witnesses": [],
}


def cache(**changes):
    """The design's example group, with changes (a value None removes the key)."""
    group = {"name": "cache", "redis_port": 6381, "sentinel_port": 26381, "master_name": "lab-cache",
             "vips": ["172.31.250.101/24"], "virtual_router_id": 52}
    group.update(changes)
    return {k: v for k, v in group.items() if v is not None}


def problems(groups, **changes):
    return group_problems(groups, **dict(TODAY, **changes))


def only(groups, **changes):
    found = problems(groups, **changes)
    assert len(found) == 1, found
    return found[0]


def test_no_groups_no_problem():
    assert problems([]) == []
    assert group_problems([]) == []  # nothing else known: still nothing to refuse


def test_good_groups_have_no_problem():
    second = cache(name="sessions", redis_port="6382", sentinel_port=26382, master_name="lab.sessions_2",
                   vips=["172.31.250.102/24", "2001:db8::102/64"], virtual_router_id="53",
                   bootstrap_master="redis-ha-2", tls_plaintext_port=6376, sentinel_tls_plaintext_port=26376)
    assert problems([cache(tls_plaintext_port=6377, sentinel_tls_plaintext_port=26377), second], tls_plaintext=True,
                    tls_plaintext_port=6378, sentinel_tls_plaintext_port=26378) == []
    # without redis_ha_tls_plaintext a group needs no plaintext port
    second = cache(name="b", redis_port=6382, sentinel_port=26382, master_name="b", vips=["172.31.250.102/24"],
                   virtual_router_id=53)
    assert problems([cache(), second]) == []


@pytest.mark.parametrize("groups", [None, "cache", {"name": "cache"}, 7])
def test_not_a_list_is_refused(groups):
    assert only(groups).startswith("redis_ha_groups is ") and "expected a list of groups" in only(groups)


def test_an_entry_that_is_not_a_mapping():
    message = only([cache(), "sessions"])
    assert message.startswith("redis_ha_groups[1] is 'sessions': expected a mapping"), message


@pytest.mark.parametrize("key", ["name", "redis_port", "sentinel_port", "master_name", "vips", "virtual_router_id"])
def test_each_required_key(key):
    message = only([cache(**{key: None})])
    label = "redis_ha_groups[0]" if key == "name" else "group cache (redis_ha_groups[0])"
    assert message.startswith("%s %s is missing: expected " % (label, key)), message


def test_plaintext_ports_required_only_with_redis_ha_tls_plaintext():
    assert problems([cache()]) == []
    for key, other in (("tls_plaintext_port", "sentinel_tls_plaintext_port"),
                       ("sentinel_tls_plaintext_port", "tls_plaintext_port")):
        message = only([cache(**{other: 7000})], tls_plaintext=True)
        assert message.startswith("group cache (redis_ha_groups[0]) %s is missing (redis_ha_tls_plaintext is true): "
                                  "expected a TCP port" % key), message


def test_unknown_keys_are_refused():
    message = only([cache(engine="valkey", members="cache_nodes")])
    assert message.startswith("group cache (redis_ha_groups[0]) has the unknown keys engine, members: expected only "
                              "name, redis_port"), message


@pytest.mark.parametrize("name", ["Cache", "1cache", "ca-che", "", "abcdefghijklmnop", 7, ["cache"]])
def test_bad_names(name):
    message = only([cache(name=name)])
    assert message.startswith("redis_ha_groups[0] name is ") and "expected a name of 1 to 15 lower-case" in message


def test_longest_name():
    assert problems([cache(name="a" * 15)]) == []


def test_todays_name_is_reserved():
    assert only([cache(name="ha")]) == ("group ha (redis_ha_groups[0]) name is ha, the name of today's group: "
                                        "expected another name")
    assert problems([cache(name="main")], name="main") and problems([cache(name="ha")], name="main") == []


@pytest.mark.parametrize("key,value", [
    ("redis_port", 0), ("redis_port", 65536), ("redis_port", "63 81"), ("redis_port", True), ("redis_port", 6381.5),
    ("sentinel_port", -1), ("sentinel_port", "port"), ("tls_plaintext_port", 70000),
    ("sentinel_tls_plaintext_port", "0"),
])
def test_bad_ports(key, value):
    message = only([cache(**{key: value})])
    assert message.startswith("group cache (redis_ha_groups[0]) %s is " % key), message
    assert "expected a TCP port, an integer from 1 to 65535" in message


@pytest.mark.parametrize("value", [0, 256, "x", False, None])
def test_bad_router_ids(value):
    message = only([cache(virtual_router_id=value)])
    assert message.startswith("group cache (redis_ha_groups[0]) virtual_router_id is "), message
    assert "1 to 255" in message or "is missing" in message


def test_router_id_bounds():
    assert problems([cache(virtual_router_id=1), cache(name="b", redis_port=1, sentinel_port=65535, master_name="b",
                                                       vips=["172.31.250.102/24"], virtual_router_id=255)]) == []


@pytest.mark.parametrize("value", ["lab cache", "lab'cache", "", 5])
def test_bad_master_names(value):
    message = only([cache(master_name=value)])
    assert message.startswith("group cache (redis_ha_groups[0]) master_name is "), message
    assert "letters, digits, '_', '.' and '-' only" in message


@pytest.mark.parametrize("value", ["172.31.250.101/24", [], {"a": "172.31.250.101/24"}])
def test_vips_must_be_a_non_empty_list(value):
    message = only([cache(vips=value)])
    assert message.startswith("group cache (redis_ha_groups[0]) vips is "), message
    assert "expected a non-empty list of virtual IP addresses written ADDRESS/PREFIX" in message


@pytest.mark.parametrize("vip", ["172.31.250.101", "not-an-ip/24", "172.31.250.0/24", "172.31.250.255/24",
                                 "127.0.0.2/8", "0.0.0.0/0", "224.0.0.18/24", 7, "172.31.250.300/24"])
def test_each_bad_vip_is_named(vip):
    message = only([cache(vips=["172.31.250.101/24", vip])])
    assert message.startswith("group cache (redis_ha_groups[0]) vips[1] is "), message
    assert "expected a usable unicast address of its subnet written ADDRESS/PREFIX" in message


def test_point_to_point_and_host_vips():
    assert problems([cache(vips=["172.31.250.101/32", "10.0.0.0/31", "2001:db8::/128"])]) == []


@pytest.mark.parametrize("key,value,owner", [
    ("redis_port", 6379, "the redis_port of group ha (redis_ha_redis_port)"),
    ("redis_port", 26379, "the sentinel_port of group ha (redis_ha_sentinel_port)"),
    ("sentinel_port", 6379, "the redis_port of group ha (redis_ha_redis_port)"),
    ("sentinel_port", 6378, "the tls_plaintext_port of group ha (redis_tls_plaintext_port)"),
    ("redis_port", 26378, "the sentinel_tls_plaintext_port of group ha (sentinel_tls_plaintext_port)"),
    ("tls_plaintext_port", 26379, "the sentinel_port of group ha (redis_ha_sentinel_port)"),
    ("sentinel_port", 6381, "the redis_port of group cache (redis_ha_groups[0])"),
    ("tls_plaintext_port", 26381, "the sentinel_port of group cache (redis_ha_groups[0])"),
    ("sentinel_tls_plaintext_port", 26378, "the sentinel_tls_plaintext_port of group ha (sentinel_tls_plaintext_port)"),
    ("sentinel_tls_plaintext_port", 6377, "the tls_plaintext_port of group cache (redis_ha_groups[0])"),
])
def test_a_port_used_twice_on_the_host(key, value, owner):
    group = cache(tls_plaintext_port=6377, sentinel_tls_plaintext_port=26377)
    group[key] = value
    message = only([group], tls_plaintext=True, tls_plaintext_port=6378, sentinel_tls_plaintext_port=26378)
    assert message == ("group cache (redis_ha_groups[0]) %s %d is already %s: expected a TCP port no other group on "
                       "the host uses (server, Sentinel and plaintext ports)" % (key, value, owner))


def test_closed_plaintext_ports_do_not_clash():
    # today's plaintext ports are closed (none): a group may use their numbers; a group's own plaintext port
    # counts only with redis_ha_tls_plaintext
    assert problems([cache(redis_port=6378, sentinel_port=26378)]) == []
    assert problems([cache(tls_plaintext_port=6379, sentinel_tls_plaintext_port=26379)]) == []


def test_ports_across_additional_groups_and_strings_of_digits():
    second = cache(name="sessions", redis_port="6381", sentinel_port=26382, master_name="s",
                   vips=["172.31.250.102/24"], virtual_router_id=53)
    assert only([cache(), second]) == (
        "group sessions (redis_ha_groups[1]) redis_port 6381 is already the redis_port of group cache "
        "(redis_ha_groups[0]): expected a TCP port no other group on the host uses (server, Sentinel and plaintext "
        "ports)")


def test_router_id_used_twice():
    assert only([cache(virtual_router_id="51")]) == (
        "group cache (redis_ha_groups[0]) virtual_router_id 51 is already the virtual_router_id of group ha "
        "(keepalived_virtual_router_id): expected a VRRP router id no other group on the host uses")
    second = cache(name="b", redis_port=6382, sentinel_port=26382, master_name="b", vips=["172.31.250.102/24"])
    assert "virtual_router_id 52 is already the virtual_router_id of group cache" in only([cache(), second])


def test_vip_address_used_twice_whatever_the_prefix():
    message = only([cache(vips=["172.31.250.101/24", "172.31.250.100/32"])])
    assert message == ("group cache (redis_ha_groups[0]) vips[1] 172.31.250.100 is already one of the vips of group ha "
                       "(redis_ha_vips): expected a VIP address no other group on the host uses")
    # today's bare addresses count too
    assert only([cache()], vips=["172.31.250.101"]).startswith(
        "group cache (redis_ha_groups[0]) vips[0] 172.31.250.101")
    # twice in one group's list
    assert "vips[1] 172.31.250.101 is already the vips[0] of group cache" in only(
        [cache(vips=["172.31.250.101/24", "172.31.250.101/24"])])
    assert "2001:db8::5 is already" in only([cache(vips=["2001:db8::5/64"])], vips=["2001:db8:0::5/64"])


def test_master_name_used_twice():
    assert only([cache(master_name="lab")]) == (
        "group cache (redis_ha_groups[0]) master_name lab is already the master_name of group ha "
        "(redis_ha_master_name): expected a Sentinel master name no other group on the host uses")
    second = cache(name="b", redis_port=6382, sentinel_port=26382, vips=["172.31.250.102/24"], virtual_router_id=53)
    assert "master_name lab-cache is already the master_name of group cache" in only([cache(), second])


def test_group_name_used_twice():
    second = cache(redis_port=6382, sentinel_port=26382, master_name="b", vips=["172.31.250.102/24"],
                   virtual_router_id=53)
    assert only([cache(), second]) == ("group cache (redis_ha_groups[1]) name cache is already the name of group cache "
                                       "(redis_ha_groups[0]): expected a name no other group has")


def test_bootstrap_master_a_member_not_a_witness():
    assert problems([cache(bootstrap_master="redis-ha-3")]) == []
    assert only([cache(bootstrap_master="redis-ha-9")]) == (
        "group cache (redis_ha_groups[0]) bootstrap_master is 'redis-ha-9', not a member of the group (redis-ha-1, "
        "redis-ha-2, redis-ha-3): expected the inventory name of a member")
    assert "not a member" in only([cache(bootstrap_master=["redis-ha-1"])])
    message = only([cache(bootstrap_master="redis-ha-3")], witnesses=["redis-ha-3"])
    assert message.startswith("group cache (redis_ha_groups[0]) bootstrap_master is redis-ha-3, a witness"), message
    assert message.endswith("expected a member that holds data")


def test_invalid_values_are_not_compared():
    # a bad port is reported as bad, not also as a clash
    second = cache(name="b", redis_port=0, sentinel_port=26382, master_name="b", vips=["172.31.250.102/24"],
                   virtual_router_id=53)
    found = problems([cache(redis_port=0), second])
    assert len(found) == 2 and all("redis_port is 0: expected a TCP port" in p for p in found), found


def test_every_problem_is_named_once_and_in_order():
    found = problems([cache(name="ha", redis_port=6379, virtual_router_id=51, extra=1)])
    assert [p.split(" ", 4)[3] for p in found] == ["has", "name", "redis_port", "virtual_router_id"], found


def test_the_labs_further_groups():
    """inventories/lab's groups cache, queue and jobs (REDIS_HA_GROUPS=N) beside its group ha, with and without TLS
    plaintext ports."""
    lab = [cache(tls_plaintext_port=6377, sentinel_tls_plaintext_port=26377),
           cache(name="queue", redis_port=6382, sentinel_port=26382, master_name="lab-queue",
                 vips=["172.31.250.102/24"], virtual_router_id=53, tls_plaintext_port=6376,
                 sentinel_tls_plaintext_port=26376),
           cache(name="jobs", redis_port=6383, sentinel_port=26383, master_name="lab-jobs",
                 vips=["172.31.250.103/24"], virtual_router_id=54, tls_plaintext_port=6375,
                 sentinel_tls_plaintext_port=26375)]
    today = dict(redis_port=6380, master_name="lab-main")
    for count in (1, 2, 3):
        assert problems(lab[:count], **today) == []
        assert problems(lab[:count], tls_plaintext=True, tls_plaintext_port=6378, sentinel_tls_plaintext_port=26378,
                        **today) == []


def test_a_per_group_role_variable_on_the_host_is_refused_with_groups_only():
    """redis_port set in the inventory would give every group of the host the same port (the roles read it before
    the group's entry): refused, naming what to set instead; the host's other variables, and no groups, pass."""
    host = ["redis_ha_redis_port", "keepalived_virtual_router_id", "redis_port", "keepalived_vips", "ansible_host"]
    found = problems([cache()], host_variables=host)
    assert found == [
        "keepalived_vips is set on the host: with redis_ha_groups it would apply to every group of the host; "
        "expected redis_ha_vips for today's group and each entry's vips instead",
        "redis_port is set on the host: with redis_ha_groups it would apply to every group of the host; "
        "expected redis_ha_redis_port for today's group and each entry's redis_port instead"], found
    assert problems([], host_variables=host) == []
    assert problems([cache()], host_variables=["redis_ha_redis_port", "keepalived_virtual_router_id"]) == []
