"""The functions of plugins/module_utils/_vipcheck/: config parsing, RESP encoding/parsing, address
canonicalisation, and the reusable blocking client against real redis-server processes."""

import pathlib
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import ADMIN_PW, CHECK_PW, CHECK_USER, NOPERM_PW, NOPERM_USER, vc  # noqa: E402


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


# --- blocking client against real Redis -----------------------------------------------------------

def test_redis_call_reply_types(cluster):
    port = cluster.stale.port
    assert vc.redis_call("127.0.0.1", port, ["PING"], password=ADMIN_PW) == b"PONG"
    assert vc.redis_call("127.0.0.1", port, ["DEL", "k"], password=ADMIN_PW) in (0, 1)
    assert vc.redis_call("127.0.0.1", port, ["GET", "k"], password=ADMIN_PW) is None
    assert vc.redis_call("127.0.0.1", port, ["SET", "k", "v a\r\nl"], password=ADMIN_PW) == b"OK"
    assert vc.redis_call("127.0.0.1", port, ["GET", "k"], password=ADMIN_PW) == b"v a\r\nl"
    assert vc.redis_call("127.0.0.1", port, ["INCRBY", "n", 5], password=ADMIN_PW) >= 5
    big = "x" * 300000  # several recv() calls
    vc.redis_call("127.0.0.1", port, ["SET", "big", big], password=ADMIN_PW)
    assert vc.redis_call("127.0.0.1", port, ["GET", "big"], password=ADMIN_PW) == big.encode()
    role = vc.redis_call("127.0.0.1", port, ["ROLE"], user=CHECK_USER, password=CHECK_PW)
    assert role[0] == b"master"
    info = vc.resp_to_text(vc.redis_call("127.0.0.1", port, ["INFO", "replication"], user=CHECK_USER,
                                         password=CHECK_PW))
    assert "role:master" in info


def test_redis_call_errors(cluster):
    port = cluster.stale.port
    with pytest.raises(vc.ReplyError) as exc:
        vc.redis_call("127.0.0.1", port, ["NOSUCHCOMMAND"], password=ADMIN_PW)
    assert exc.value.code == "ERR"
    with pytest.raises(vc.ReplyError) as exc:
        vc.redis_call("127.0.0.1", port, ["PING"], user=CHECK_USER, password="bad")
    assert exc.value.code == "WRONGPASS"
    with pytest.raises(vc.ReplyError) as exc:
        vc.redis_call("127.0.0.1", port, ["PING"])
    assert exc.value.code == "NOAUTH"
    with pytest.raises(vc.ReplyError) as exc:
        vc.redis_call("127.0.0.1", port, ["ROLE"], user=NOPERM_USER, password=NOPERM_PW)
    assert exc.value.code == "NOPERM"
    with pytest.raises(ConnectionRefusedError):
        vc.redis_call("127.0.0.1", cluster.dead_port, ["PING"])
    with pytest.raises(OSError):
        vc.redis_call("no-such-host.invalid", 6379, ["PING"], timeout=2)


def test_redis_call_timeout_on_stopped_server(lone_redis):
    lone_redis.sigstop()
    try:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            vc.redis_call("127.0.0.1", lone_redis.port, ["PING"], password=ADMIN_PW, timeout=0.2)
        assert time.monotonic() - t0 < 1.0
    finally:
        lone_redis.sigcont()
    assert vc.redis_call("127.0.0.1", lone_redis.port, ["PING"], password=ADMIN_PW) == b"PONG"


def test_redis_pipeline(cluster):
    port = cluster.stale.port
    replies = vc.redis_pipeline("127.0.0.1", port, [["SET", "p", "1"], ["INCR", "p"], ["GET", "p"]],
                                password=ADMIN_PW)
    assert replies == [b"OK", 2, b"2"]
    replies = vc.redis_pipeline("127.0.0.1", port, [["PING"], ["HGET", "p", "x"], ["PING"]],
                                password=ADMIN_PW, raise_on_error=False)
    assert replies[0] == b"PONG" and isinstance(replies[1], vc.ReplyError) and replies[2] == b"PONG"
    assert "WRONGTYPE" == replies[1].code
    with pytest.raises(vc.ReplyError):
        vc.redis_pipeline("127.0.0.1", port, [["PING"], ["HGET", "p", "x"]], password=ADMIN_PW)


def test_redis_call_ipv6(cluster):
    if not cluster.ipv6:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    assert vc.redis_call("::1", cluster.stale.port, ["PING"], password=ADMIN_PW) == b"PONG"
    assert vc.redis_call("[::1]", cluster.stale.port, ["PING"], password=ADMIN_PW) == b"PONG"


def test_concurrent_exchanges_share_one_deadline(cluster, lone_redis):
    """Several connections progress together; a stopped server costs the deadline once, not per connection."""
    lone_redis.sigstop()
    try:
        exs = [vc.Exchange("127.0.0.1", lone_redis.port, [["PING"]]) for _ in range(3)]
        exs.append(vc.Exchange("127.0.0.1", cluster.stale.port, [["AUTH", ADMIN_PW], ["PING"]]))
        t0 = time.monotonic()
        vc.run_exchanges(exs, t0 + 0.3)
        elapsed = time.monotonic() - t0
    finally:
        lone_redis.sigcont()
    assert 0.25 < elapsed < 0.8
    assert all(isinstance(e.error, TimeoutError) for e in exs[:3])
    assert exs[3].replies == [b"OK", b"PONG"] and exs[3].error is None


# --- wire-level robustness of the client (raw TCP peers, not Redis) -------------------------------

class RawPeer:
    """A TCP listener that answers every connection with fixed bytes (optionally dribbled), then closes."""

    def __init__(self, payload, dribble=False, close=True):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.payload, self.dribble, self.close = payload, dribble, close
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            if self.dribble:
                for i in range(len(self.payload)):
                    conn.sendall(self.payload[i:i + 1])
                    time.sleep(0.001)
            else:
                conn.sendall(self.payload)
            if not self.close:
                time.sleep(1)

    def stop(self):
        self.sock.close()
        self.thread.join(2)


def test_reply_dribbled_byte_by_byte():
    peer = RawPeer(b"+OK\r\n*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n", dribble=True)
    try:
        assert vc.redis_pipeline("127.0.0.1", peer.port, [["X"]], password="p") == [[b"127.0.0.1", b"6379"]]
    finally:
        peer.stop()


def test_server_closing_mid_reply_is_a_connection_error():
    peer = RawPeer(b"*2\r\n$9\r\n127.0")
    try:
        with pytest.raises(ConnectionResetError):
            vc.redis_call("127.0.0.1", peer.port, ["X"])
    finally:
        peer.stop()


def test_garbage_is_a_protocol_error():
    peer = RawPeer(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        with pytest.raises(vc.ProtocolError):
            vc.redis_call("127.0.0.1", peer.port, ["X"])
    finally:
        peer.stop()


def test_loading_reply_demotes():
    """Redis 7 allows ROLE while loading, so -LOADING is produced here by a raw peer."""
    peer = RawPeer(b"-LOADING Redis is loading the dataset in memory\r\n", close=False)
    try:
        s = vc.build_settings({"redis_port": str(peer.port), "announce_host": "127.0.0.1",
                               "master_name": "m", "sentinels": "127.0.0.1:1", "budget_ms": "300"})
        res = vc.evaluate(s, complete=True)
        assert not res["promote"]
        assert "LOADING" in res["redis"]["error"]
    finally:
        peer.stop()
