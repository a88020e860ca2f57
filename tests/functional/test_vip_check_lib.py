"""The reusable blocking client of plugins/module_utils/_vipcheck/ against real redis-server processes and raw
loopback peers. Its pure functions (config parsing, RESP encoding/parsing, address canonicalisation) are tested in
tests/unit/plugins/module_utils/_vipcheck/test_settings_and_resp.py."""

import pathlib
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import ADMIN_PW, CHECK_PW, CHECK_USER, NOPERM_PW, NOPERM_USER, vc  # noqa: E402


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
