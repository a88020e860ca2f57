"""Pure unit tests of the filters behind the roles' and the preflight's checks (no daemon, no network).

secret_problems: every refusal names the variable and never holds the value. vrid_clashes and
weight_problems: the cross-host rules of the preflight, on plain dictionaries standing for hostvars.
"""

import pytest

from ansible_collections.redis_ha.sentinel_vip.plugins.filter.secret_problems import secret_problems
from ansible_collections.redis_ha.sentinel_vip.plugins.filter.vrid_clashes import vrid_clashes
from ansible_collections.redis_ha.sentinel_vip.plugins.filter.weight_problems import weight_problems

GOOD = "s3cret-Value_1"


@pytest.mark.parametrize("value,needle", [
    (None, "is not set"),
    (12345, "is not a string"),
    ("", "is empty"),
    ("one\ntwo", "line break"),
    ("change-me-app", "placeholder"),
])
def test_each_bad_password_is_named_without_its_value(value, needle):
    problems = secret_problems({"redis_password": value, "redis_admin_password": GOOD})
    assert len(problems) == 1 and problems[0].startswith("redis_password ") and needle in problems[0], problems
    if isinstance(value, str) and value:
        assert value not in problems[0]


def test_good_secrets_have_no_problem():
    assert secret_problems({"a_password": GOOD, "b_password": "with blank 'quote' \\ \"x\""}) == []


def test_unquoted_secrets_refuse_blanks_quotes_and_backslashes():
    for bad in ("a b", "a'b", 'a"b', "a\\b", "a\tb"):
        problems = secret_problems({"sentinel_password": bad}, unquoted=["sentinel_password"])
        assert problems and "blank, quote or backslash" in problems[0], bad
    assert secret_problems({"other_password": "a b"}, unquoted=["sentinel_password"]) == []


def test_optional_secrets_may_be_unset_or_empty_but_are_examined_when_set():
    names = ["sentinel_password_previous"]
    for unset in (None, ""):
        assert secret_problems({"sentinel_password_previous": unset}, optional=names) == []
        # not optional: the same value is refused
        assert secret_problems({"sentinel_password_previous": unset})
    problems = secret_problems({"sentinel_password_previous": "a b"}, optional=names, unquoted=names)
    assert len(problems) == 1 and "blank, quote or backslash" in problems[0]
    assert "placeholder" in secret_problems({"sentinel_password_previous": "CHANGE-ME-x"}, optional=names)[0]
    # an unset previous is never compared with its pair
    assert secret_problems({"a_previous": "", "b_previous": GOOD}, optional=["a_previous", "b_previous"],
                           same_as={"a_previous": "b_previous"}) == []
    assert secret_problems({"a_previous": GOOD + "x", "b_previous": GOOD}, optional=["a_previous", "b_previous"],
                           same_as={"a_previous": "b_previous"})


def test_valkey_replication_password_refuses_double_quote_and_backslash_only_with_valkey():
    for bad in ('a"b', "a\\b"):
        assert "Valkey 8" in secret_problems({"redis_replication_password": bad}, engine="valkey")[0]
        assert secret_problems({"redis_replication_password": bad}, engine="redis") == []
    assert secret_problems({"redis_replication_password": "a 'b'"}, engine="valkey") == []


def test_set_through_names_the_group_wide_variable():
    problems = secret_problems({"sentinel_redis_password": None},
                               set_through={"sentinel_redis_password": "redis_ha_sentinel_user_password"})
    assert problems == ["sentinel_redis_password is not set (set the group-wide redis_ha_sentinel_user_password): "
                        "expected a password"]


def test_same_as_compares_usable_secrets_only():
    pair = {"keepalived_check_redis_password": "redis_check_password"}
    assert secret_problems({"keepalived_check_redis_password": "x1", "redis_check_password": "x1"}, same_as=pair) == []
    problems = secret_problems({"keepalived_check_redis_password": "x1", "redis_check_password": "x2"}, same_as=pair)
    assert problems == ["keepalived_check_redis_password differs from redis_check_password: expected the same "
                        "password (leave keepalived_check_redis_password unset, it defaults to redis_check_password)"]
    # an unset source is reported once, as unset, not as a difference
    assert len(secret_problems({"keepalived_check_redis_password": "x1", "redis_check_password": None},
                               same_as=pair)) == 1


@pytest.mark.parametrize("value,version,needle", [
    ("123456789", 2, "has 9 characters"),
    ("ab cd", 2, "blank, quote"),
    ("ab#cd", 2, "blank, quote"),
    ("abcé", 2, "blank, quote"),
    ("abc-1234", 3, "keepalived_vrrp_version is 3"),
    (42, 2, "is not a string"),
])
def test_vrrp_auth_pass(value, version, needle):
    problems = secret_problems({"keepalived_auth_pass": value}, vrrp_version=version)
    assert len(problems) == 1 and problems[0].startswith("keepalived_auth_pass ") and needle in problems[0], problems


def test_vrrp_auth_pass_may_be_empty_or_unset_and_fits_version_2():
    for value, version in (("", 3), (None, 3), ("abc-1234", 2), ("abc-1234", "2")):
        assert secret_problems({"keepalived_auth_pass": value}, vrrp_version=version) == []


HOSTVARS = {
    "same-net-same-id": {"keepalived_virtual_router_id": "51", "keepalived_vips": ["192.0.2.200/24"]},
    "same-net-other-id": {"keepalived_virtual_router_id": 52, "keepalived_vips": ["192.0.2.201/24"]},
    "other-net-same-id": {"keepalived_virtual_router_id": 51, "keepalived_vips": ["198.51.100.5/24"]},
    "bare-address": {"keepalived_virtual_router_id": 51, "keepalived_vips": ["192.0.2.202", "not-an-ip", 7]},
    "vips-a-string": {"keepalived_virtual_router_id": 51, "keepalived_vips": "192.0.2.203/24"},
    "no-vrrp": {},
    "group-wide-vips": {"keepalived_virtual_router_id": 51, "redis_ha_vips": ["192.0.2.204/24"]},
}


def test_vrid_clashes_same_id_on_the_same_network_only():
    assert vrid_clashes(HOSTVARS, list(HOSTVARS), 51, ["192.0.2.0/24"]) == ["same-net-same-id", "bare-address",
                                                                          "group-wide-vips"]
    assert vrid_clashes(HOSTVARS, list(HOSTVARS), "52", ["192.0.2.0/24", "2001:db8::/64"]) == ["same-net-other-id"]
    assert vrid_clashes(HOSTVARS, list(HOSTVARS), 51, ["203.0.113.0/24"]) == []
    assert vrid_clashes(HOSTVARS, ["no-vrrp"], 51, ["192.0.2.0/24"]) == []


def test_vrid_clashes_with_the_further_groups_of_other_hosts():
    """A host of another replication group whose further group (redis_ha_groups) has the router id on the network;
    a malformed entry is skipped (the preflight refuses it on its own hosts)."""
    hostvars = {
        "other-group-cache": {"keepalived_virtual_router_id": 61, "keepalived_vips": ["192.0.2.50/24"],
                              "redis_ha_groups": [{"name": "cache", "virtual_router_id": 53,
                                                   "vips": ["192.0.2.51/24"]}, "not-a-mapping"]},
        "other-net-cache": {"redis_ha_groups": [{"name": "cache", "virtual_router_id": 53,
                                                 "vips": ["198.51.100.51/24"]}]},
        "groups-not-a-list": {"redis_ha_groups": "cache"},
    }
    assert vrid_clashes(hostvars, list(hostvars), 53, ["192.0.2.0/24"]) == ["other-group-cache"]
    assert vrid_clashes(hostvars, list(hostvars), 61, ["192.0.2.0/24"]) == ["other-group-cache"]
    assert vrid_clashes(hostvars, list(hostvars), 53, ["203.0.113.0/24"]) == []


def _nodes(*pw):
    return {"n%d" % i: {"keepalived_priority": p, "keepalived_check_weight": w} for i, (p, w) in enumerate(pw, 1)}


def test_weight_zero_and_equal_priorities_with_a_lifting_weight_are_fine():
    assert weight_problems(_nodes((100, 0), (100, 0), (100, 0))) == []
    assert weight_problems(_nodes((100, 10), (100, 10), (105, 10))) == []
    assert weight_problems(_nodes((100, -20), (110, -20), (100, -20))) == []


def test_weight_smaller_than_the_priority_spread_is_refused():
    problems = weight_problems(_nodes((100, 5), (110, 5)))
    assert problems == ["n1 passing is at priority 105 (keepalived_priority 100, keepalived_check_weight 5), "
                        "not above n2 failing at 110 (keepalived_priority 110, keepalived_check_weight 5)"]


def test_weight_clamped_at_254_cannot_lift():
    problems = weight_problems(_nodes(("254", "10"), ("254", "10")))
    assert len(problems) == 2 and "passing is at priority 254" in problems[0]
