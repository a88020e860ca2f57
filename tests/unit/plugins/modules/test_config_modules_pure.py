"""The pure functions of the modules redis_config and sentinel_config (no process, no network): Redis' memory
units, the normalisation that recognises Redis' own spellings of a value, the refusals of settings the modules
must not touch, and Sentinel's comparison. Their behaviour against real daemons, through ansible-playbook, is
tested in tests/functional/test_config_modules.py."""

import pytest

from ansible_collections.redis_ha.sentinel_vip.plugins.modules import redis_config, sentinel_config


@pytest.fixture(scope="module")
def rc():
    return redis_config


@pytest.fixture(scope="module")
def sc():
    return sentinel_config


@pytest.mark.parametrize("token,expected", [
    ("0", 0), ("512", 512), ("7b", 7), ("1k", 1000), ("1K", 1000), ("1kb", 1024), ("1KB", 1024),
    ("1m", 1000 ** 2), ("100mb", 100 * 1024 ** 2), ("100MB", 104857600), ("2g", 2 * 10 ** 9),
    ("1gb", 1024 ** 3), ("1Gb", 1024 ** 3), ("1.5gb", None), ("-1", None), ("mb", None), ("1 mb", None),
    ("1tb", None),
])
def test_memory_units_follow_redis(rc, token, expected):
    assert rc.memory_bytes(token) == expected


@pytest.mark.parametrize("name,wanted,current", [
    ("maxmemory", "100mb", "104857600"),
    ("maxmemory", "102400kb", "104857600"),
    ("maxmemory", "100000k", "100000000"),
    ("save", "3600 1  300 100 ", "3600 1 300 100"),
    ("appendonly", "YES", "yes"),
    ("maxmemory-policy", "AllKeys-LRU", "allkeys-lru"),
    ("client-output-buffer-limit", "replica 256mb 64mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("notify-keyspace-events", "KEA", "AKE"),
    ("notify-keyspace-events", "Ex", "xE"),
    ("save", "", ""),
])
def test_normalisation_recognises_redis_spellings(rc, name, wanted, current):
    assert rc.same_value(name, wanted, current)


@pytest.mark.parametrize("name,wanted,current", [
    ("maxmemory", "100000k", "104857600"),       # k is 1000, not 1024
    ("maxmemory", "100m", "104857600"),          # m is 10^6
    ("save", "3600 1", "3600 1 300 100"),
    ("masteruser", "Admin", "admin"),            # strings keep their case
    ("dir", "/var/lib/Redis", "/var/lib/redis"),
    ("client-output-buffer-limit", "replica 512mb 64mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("notify-keyspace-events", "KEA", "KEg"),
    ("appendonly", "yes", "no"),
    ("save", "", "3600 1"),
])
def test_normalisation_keeps_real_differences(rc, name, wanted, current):
    assert not rc.same_value(name, wanted, current)


def test_values_are_converted_like_the_config_file(rc):
    assert rc.value_to_text("appendonly", True) == "yes"
    assert rc.value_to_text("appendonly", False) == "no"
    assert rc.value_to_text("save", [3600, 1, 300, 100]) == "3600 1 300 100"
    assert rc.value_to_text("save", []) == ""
    assert rc.value_to_text("save", None) == ""
    assert rc.value_to_text("latency-tracking-info-percentiles", [50, 99, 99.9]) == "50 99 99.9"
    assert rc.value_to_text("x", [True, "a"]) == "yes a"
    for bad in ({"a": 1}, [[1]], [None]):
        with pytest.raises(rc.SettingError, match="'x'"):
            rc.value_to_text("x", bad)


@pytest.mark.parametrize("settings,secret,match", [
    ({"replicaof": "10.0.0.1 6379"}, {}, "'replicaof' is owned by Redis Sentinel"),
    ({"SLAVEOF": "no one"}, {}, "'slaveof' is owned by Redis Sentinel"),
    ({}, {"replicaof": "no one"}, "'replicaof' is owned by Redis Sentinel"),
    ({"maxmem*": 1}, {}, "glob"),
    ({"masterauth": "x"}, {}, "'masterauth' holds a password"),
    ({"requirepass": "x"}, {}, "'requirepass' holds a password"),
    ({"maxmemory": 1, "MAXMEMORY": 2}, {}, "given twice"),
    ({"hz": 1}, {"HZ": 2}, "given twice"),
])
def test_redis_refusals(rc, settings, secret, match):
    with pytest.raises(rc.SettingError, match=match):
        rc.wanted_settings(settings, secret)


def test_redis_wanted_settings_lowercases_and_flags_secrets(rc):
    assert rc.wanted_settings({"MaxMemory": "1gb"}, {"masterauth": "s"}) == [
        ("masterauth", "s", True), ("maxmemory", "1gb", False)]


@pytest.mark.parametrize("settings,match", [
    ({"auth-pass": "x"}, "auth_pass option"),
    ({"auth-user": "x"}, "auth_user option"),
    ({"ip": "10.0.0.1"}, "owns the master address"),
    ({"flags": "x"}, "not a per-master setting"),
    ({"rename-command": "x"}, "not a per-master setting"),
    ({"notification-script": "/bin/my script"}, "free of blanks"),
    ({"quorum": True}, "boolean"),
    ({"quorum": [2]}, "list"),
])
def test_sentinel_settings_refused(sc, settings, match):
    with pytest.raises(sc.SettingError, match=match):
        sc.wanted_settings(settings)


def test_sentinel_comparison(sc):
    assert sc.wanted_settings({"Quorum": 2, "down-after-milliseconds": "5000"}) == [
        ("down-after-milliseconds", "5000"), ("quorum", "2")]
    assert sc.same_value("05000", "5000")
    assert not sc.same_value("5001", "5000")
    assert not sc.same_value("/bin/a", "/bin/A")
    for bad in ("a b", 'a"b', "a'b", "a\\b", "a\tb", "a\nb"):
        with pytest.raises(sc.SettingError):
            sc.value_to_text("auth-pass", bad)
