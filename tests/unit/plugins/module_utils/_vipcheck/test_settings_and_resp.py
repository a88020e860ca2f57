"""The pure functions of plugins/module_utils/_vipcheck/ (no process, no network): the config format and the
settings built from it, address canonicalisation, RESP encoding and parsing. The blocking client against real
redis-server processes is tested in tests/functional/test_vip_check_lib.py."""

import types

import pytest

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck import addresses, errors, resp, settings

# The check's public names in one namespace, as tests/functional/vipcheck_helpers.vc gives them.
vc = types.SimpleNamespace(**{name: value for mod in (errors, resp, addresses, settings)
                              for name, value in vars(mod).items() if not name.startswith("_")})


# --- config format ------------------------------------------------------------------------------

def test_config_values_are_verbatim():
    text = ("# comment\n"
            "   # indented comment\n"
            "\n"
            "   \n"
            "redis_password= p#w =\"'$x\\ \n"
            "master_name=mymaster\n"
            "sentinel_password=#not a comment\n")
    raw = vc.parse_config_text(text)
    assert raw == {"redis_password": " p#w =\"'$x\\ ", "master_name": "mymaster",
                   "sentinel_password": "#not a comment"}


@pytest.mark.parametrize("text, message", [
    ("nokey\n", "expected key=value"),
    ("=value\n", "expected key=value"),
    ("colour=blue\n", "unknown key"),
    ("master_name=a\nmaster_name=b\n", "given twice"),
])
def test_config_syntax_errors(text, message):
    with pytest.raises(vc.ConfigError, match=message):
        vc.parse_config_text(text)


def test_config_error_for_unreadable_file(tmp_path):
    with pytest.raises(vc.ConfigError, match="cannot read"):
        vc.read_config(str(tmp_path / "missing"))


def _settings(**raw):
    base = {"announce_host": "10.0.0.1", "master_name": "mymaster", "sentinels": "10.0.0.1:26379"}
    base.update(raw)
    return vc.build_settings({k: v for k, v in base.items() if v is not None})


def test_settings_defaults():
    s = _settings()
    assert s["redis_host"] == "127.0.0.1"
    assert s["redis_port"] == 6379
    assert s["announce_port"] == 6379
    assert s["budget_ms"] == 500
    assert s["agreement"] == "majority" and s["required"] == 1
    assert s["redis_user"] is None and s["redis_password"] is None
    assert s["state_file"] is None
    assert s["syslog_ident"] == "redis-vip-check"
    assert _settings(redis_port="7000")["announce_port"] == 7000
    assert _settings(redis_port="7000", announce_port="7001")["announce_port"] == 7001
    # Empty optional values count as unset (the role renders "redis_user=" when there is none).
    assert _settings(redis_user="", redis_password="")["redis_password"] is None


def test_sentinel_list_parsing():
    s = _settings(sentinels="10.0.0.1:26379  10.0.0.2\t[fd00::3]:26380 [::1] sentinel-4.example:1")
    assert s["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("fd00::3", 26380), ("::1", 26379),
                              ("sentinel-4.example", 1)]


@pytest.mark.parametrize("sentinels", ["fd00::3:26379", "[fd00::3:26379", "[::1]x", "h:0", "h:65536", "h:",
                                       ":1", "10.0.0.1:1 10.0.0.1:1", "[::1]:1 [0::1]:1", ""])
def test_bad_sentinel_lists(sentinels):
    with pytest.raises(vc.ConfigError):
        _settings(sentinels=sentinels)


@pytest.mark.parametrize("n, agreement, required", [
    (1, "majority", 1), (2, "majority", 2), (3, "majority", 2), (4, "majority", 3), (5, "majority", 3),
    (3, "all", 3), (3, "ALL", 3), (3, "1", 1), (3, "3", 3), (5, " 4 ", 4),
])
def test_agreement(n, agreement, required):
    sentinels = " ".join("10.0.0.%d:26379" % i for i in range(1, n + 1))
    assert _settings(sentinels=sentinels, agreement=agreement)["required"] == required


@pytest.mark.parametrize("agreement", ["0", "4", "-1", "most", "2.5"])
def test_bad_agreement(agreement):
    with pytest.raises(vc.ConfigError, match="agreement"):
        _settings(sentinels="a:1 b:1 c:1", agreement=agreement)


@pytest.mark.parametrize("key, value", [("announce_host", None), ("master_name", None), ("sentinels", None),
                                        ("budget_ms", "5"), ("budget_ms", "fast"), ("redis_port", "0"),
                                        ("announce_port", "x")])
def test_bad_or_missing_values(key, value):
    with pytest.raises(vc.ConfigError):
        _settings(**{key: value})


def test_load_settings_overrides_file(tmp_path):
    cfg = tmp_path / "c.conf"
    cfg.write_text("announce_host=10.0.0.1\nmaster_name=a\nsentinels=10.0.0.1:1\nagreement=majority\n")
    s = vc.load_settings(str(cfg), {"agreement": "all", "master_name": None, "budget_ms": 250})
    assert s["agreement"] == "all" and s["master_name"] == "a" and s["budget_ms"] == 250
    with pytest.raises(vc.ConfigError):
        vc.load_settings(str(cfg), {"colour": "blue"})


# --- addresses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("::1", "0:0:0:0:0:0:0:1"), ("[::1]", "::1"), ("FD00::A", "fd00:0::a"), ("::ffff:10.0.0.1", "10.0.0.1"),
    ("LocalHost", "localhost"), ("redis-1.Example.", "redis-1.example"), (" 10.0.0.1", "10.0.0.1"),
])
def test_canonical_host_equal(a, b):
    assert vc.canonical_host(a) == vc.canonical_host(b)


@pytest.mark.parametrize("a, b", [("10.0.0.1", "10.0.0.10"), ("::1", "::2"), ("localhost", "127.0.0.1"),
                                  ("fd00::1", "fd00::1:0")])
def test_canonical_host_different(a, b):
    assert vc.canonical_host(a) != vc.canonical_host(b)


def test_format_hostport():
    assert vc.format_hostport("::1", 1) == "[::1]:1"
    assert vc.format_hostport("[::1]", 1) == "[::1]:1"
    assert vc.format_hostport("10.0.0.1", 6379) == "10.0.0.1:6379"


# --- RESP -----------------------------------------------------------------------------------------

def test_encode_command():
    assert vc.encode_command(["SET", b"k", 12, "\u00e9"]) == b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\n\xc3\xa9\r\n"
    assert vc.encode_command(["AUTH", "a b\r\nc"]) == b"*2\r\n$4\r\nAUTH\r\n$6\r\na b\r\nc\r\n"
    with pytest.raises(TypeError):
        vc.encode_command(["X", 1.5])


@pytest.mark.parametrize("wire, value", [
    (b"+OK\r\n", b"OK"),
    (b":-42\r\n", -42),
    (b"$5\r\nhe\r\no\r\n", b"he\r\no"),
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*0\r\n", []),
    (b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n", [b"127.0.0.1", b"6379"]),
    (b"*3\r\n$6\r\nmaster\r\n:7\r\n*1\r\n*3\r\n$8\r\n10.0.0.2\r\n$4\r\n6379\r\n$1\r\n7\r\n",
     [b"master", 7, [[b"10.0.0.2", b"6379", b"7"]]]),
])
def test_parse_reply(wire, value):
    assert vc.parse_reply(wire + b"+next\r\n") == (value, len(wire))
    # Every strict prefix is incomplete, never an error or a wrong value.
    for cut in range(len(wire)):
        assert vc.parse_reply(wire[:cut])[1] == -1


@pytest.mark.parametrize("wire, code", [
    (b"-ERR unknown command\r\n", "ERR"),
    (b"-NOAUTH Authentication required.\r\n", "NOAUTH"),
    (b"-WRONGPASS invalid username-password pair\r\n", "WRONGPASS"),
    (b"-LOADING Redis is loading the dataset in memory\r\n", "LOADING"),
    (b"-BUSY Redis is busy running a script.\r\n", "BUSY"),
    (b"-NOPERM this user has no permissions\r\n", "NOPERM"),
])
def test_parse_error_replies(wire, code):
    value, pos = vc.parse_reply(wire)
    assert isinstance(value, vc.ReplyError) and isinstance(value, vc.RespError)
    assert value.code == code and pos == len(wire)


@pytest.mark.parametrize("wire", [b"?what\r\n", b"$x\r\n", b":1.5\r\n", b"$3\r\nabcde\r\n", b"*x\r\n"])
def test_parse_protocol_errors(wire):
    with pytest.raises(vc.ProtocolError):
        vc.parse_reply(wire)
