# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sentinel-aware VIP check for keepalived, plus a tiny RESP client.

Used two ways from this single file (see docs/check.md):

* keepalived ``vrrp_script``: ``vip_check.py /path/to/check.conf``, where
  ``vip_check.py`` is the launcher roles/keepalived/files/vip_check.py that
  imports this file (installed as ``redis_vip_check.py`` beside it) and
  exits with ``main()``'s code: 0 = this node should hold the VIP, 1 = it
  should not, 2 = config/usage error (also "should not").
* Ansible: ``redis_ha.sentinel_vip.vip_check`` module and other modules of
  the collection import ``evaluate``/``redis_call``/``redis_pipeline`` etc.

Standard library only, and only cheap built-in modules, because it runs
every second on every node: no os/socket/re/json at import time.
"""

# No "from __future__" boilerplate on purpose: Python 3 only, and every
# import costs CPU on a script that runs every second.
import _socket
import errno
import select
import sys
import time

try:
    from posix import strerror as _strerror
except ImportError:  # pragma: no cover - non-POSIX
    from os import strerror as _strerror

_monotonic = time.monotonic

DEFAULT_BUDGET_MS = 500
DEFAULT_POLL_MS = 100
DEFAULT_SYSLOG_IDENT = "redis-vip-check"
DEFAULT_SENTINEL_PORT = 26379
MAX_REPLY_BYTES = 16 * 1024 * 1024

EXIT_PROMOTE = 0
EXIT_DEMOTE = 1
EXIT_CONFIG = 2

PROMOTE = "promote"
DEMOTE = "demote"


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

class RespError(Exception):
    """Base class of every non-network error of the RESP client."""


class ReplyError(RespError):
    """The server answered with an error reply (``-ERR ...``, ``-NOAUTH ...``).

    ``code`` is the first word (``ERR``, ``NOAUTH``, ``WRONGPASS``, ``LOADING``,
    ``BUSY``, ``NOPERM`` ...), ``message`` the whole text without the ``-``.
    """

    def __init__(self, message):
        RespError.__init__(self, message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else "ERR"


class ProtocolError(RespError):
    """The bytes received are not a valid RESP2 reply."""


class ConfigError(ValueError):
    """Invalid check configuration (never contains secret values)."""


# --------------------------------------------------------------------------
# RESP2 encoding / parsing (one parser for every user of this file)
# --------------------------------------------------------------------------

def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return b"%d" % value
    raise TypeError("RESP arguments must be str, bytes or int, not %s" % type(value).__name__)


def encode_command(args):
    """Encode one command (sequence of str/bytes/int) as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = _to_bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def parse_reply(buf, pos=0):
    """Parse one RESP2 reply from ``buf`` starting at ``pos``.

    Returns ``(value, next_pos)``; ``next_pos`` is -1 when ``buf`` does not
    hold a complete reply yet.  Values: simple and bulk strings -> bytes,
    integers -> int, arrays -> list, nil -> None, error replies -> a
    ``ReplyError`` instance (returned, not raised).  Raises ``ProtocolError``.
    """
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if len(buf) - pos > 65536:
            raise ProtocolError("reply line too long")
        return None, -1
    kind = buf[pos:pos + 1]
    line = buf[pos + 1:end]
    nxt = end + 2
    if kind == b"+":
        return line, nxt
    if kind == b"-":
        return ReplyError(line.decode("utf-8", "replace")), nxt
    try:
        num = int(line) if kind in b"$*:" else None
    except ValueError:
        raise ProtocolError("bad length/integer in reply")
    if kind == b":":
        return num, nxt
    if kind == b"$":
        if num < 0:
            return None, nxt
        if num > MAX_REPLY_BYTES:
            raise ProtocolError("bulk string too large")
        stop = nxt + num
        if len(buf) < stop + 2:
            return None, -1
        if buf[stop:stop + 2] != b"\r\n":
            raise ProtocolError("bulk string not terminated by CRLF")
        return buf[nxt:stop], stop + 2
    if kind == b"*":
        if num < 0:
            return None, nxt
        if num > 1048576:
            raise ProtocolError("array too large")
        items = []
        for _i in range(num):
            item, nxt = parse_reply(buf, nxt)
            if nxt < 0:
                return None, -1
            items.append(item)
        return items, nxt
    raise ProtocolError("unknown RESP type byte %r" % kind)


def auth_command(user=None, password=None):
    """The AUTH command for these credentials, or None when no password is set."""
    if password is None or password == "":
        if user:
            # ACL user defined with 'nopass': any password is accepted.
            return ["AUTH", user, ""]
        return None
    if user:
        return ["AUTH", user, password]
    return ["AUTH", password]


# --------------------------------------------------------------------------
# Concurrent non-blocking exchange engine (used by the check AND the
# blocking helpers, so there is exactly one network code path)
# --------------------------------------------------------------------------

_CONNECTING, _SENDING, _READING, _DONE, _ABANDONED = 0, 1, 2, 3, 4


def strip_brackets(host):
    if host[:1] == "[" and host[-1:] == "]":
        return host[1:-1]
    return host


def _resolve(host, port):
    """[(family, sockaddr)] for host; IP literals never touch the resolver."""
    h = strip_brackets(host)
    try:
        _socket.inet_pton(_socket.AF_INET, h)
        return [(_socket.AF_INET, (h, port))]
    except (OSError, ValueError):
        pass
    try:
        _socket.inet_pton(_socket.AF_INET6, h)
        return [(_socket.AF_INET6, (h, port, 0, 0))]
    except (OSError, ValueError):
        pass
    infos = _socket.getaddrinfo(h, port, _socket.AF_UNSPEC, _socket.SOCK_STREAM)
    return [(info[0], info[4]) for info in infos]


class Exchange:
    """One connection: send ``commands`` pipelined, collect len(commands) replies.

    After ``run_exchanges`` returns: ``replies`` holds the parsed replies
    received (ReplyError instances for error replies), ``error`` is None or
    the OSError/TimeoutError/ProtocolError that stopped it, ``complete`` is
    True when every reply arrived.
    """

    __slots__ = ("host", "port", "payload", "want", "replies", "error", "state",
                 "_addrs", "_sock", "_fd", "_out", "_buf", "_pos",
                 "result")

    def __init__(self, host, port, commands):
        self.host = host
        self.port = int(port)
        self.payload = b"".join(encode_command(c) for c in commands)
        self.want = len(commands)
        self.replies = []
        self.error = None
        self.state = _CONNECTING
        self.result = None
        self._addrs = None
        self._sock = None
        self._fd = -1
        self._out = b""
        self._buf = b""
        self._pos = 0

    @property
    def complete(self):
        return len(self.replies) >= self.want

    @property
    def done(self):
        return self.state == _DONE

    def _close(self, poller, fdmap):
        if self._sock is not None:
            try:
                poller.unregister(self._fd)
            except (KeyError, ValueError):
                pass
            fdmap.pop(self._fd, None)
            self._sock.close()
            self._sock = None

    def _finish(self, poller, fdmap, error=None):
        if error is not None and self.error is None:
            self.error = error
        self._close(poller, fdmap)
        self.state = _DONE

    def _start(self, poller, fdmap):
        if self._addrs is None:
            try:
                self._addrs = _resolve(self.host, self.port)
            except (OSError, UnicodeError) as exc:
                self._finish(poller, fdmap, exc if isinstance(exc, OSError)
                             else OSError("cannot resolve %r" % self.host))
                return
        last = None
        while self._addrs:
            family, sockaddr = self._addrs.pop(0)
            try:
                sock = _connect_nonblocking(family, sockaddr)
            except OSError as exc:
                last = exc
                continue
            self._sock = sock
            self._fd = sock.fileno()
            self._out = self.payload
            fdmap[self._fd] = self
            self.state = _CONNECTING
            poller.register(self._fd, select.POLLOUT)
            return
        self._finish(poller, fdmap, last or OSError("no address for %r" % self.host))

    def _event(self, ev, poller, fdmap):
        sock = self._sock
        if self.state == _CONNECTING:
            err = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if err:
                self._close(poller, fdmap)
                self.error = OSError(err, _strerror(err))
                if self._addrs:
                    self.error = None
                    self._start(poller, fdmap)
                else:
                    self.state = _DONE
                return
            self.state = _SENDING
        if self.state == _SENDING:
            try:
                sent = sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._finish(poller, fdmap, exc)
                return
            self._out = self._out[sent:]
            if not self._out:
                self.state = _READING
                poller.modify(self._fd, select.POLLIN)
            return
        # _READING
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(poller, fdmap, exc)
            return
        if not data:
            self._finish(poller, fdmap, ConnectionResetError(
                errno.ECONNRESET, "connection closed by server after %d of %d replies"
                % (len(self.replies), self.want)))
            return
        buf = self._buf + data if self._buf else data
        pos = self._pos
        try:
            while len(self.replies) < self.want:
                value, nxt = parse_reply(buf, pos)
                if nxt < 0:
                    break
                self.replies.append(value)
                pos = nxt
        except ProtocolError as exc:
            self._finish(poller, fdmap, exc)
            return
        if len(self.replies) >= self.want:
            self._finish(poller, fdmap)
            return
        if len(buf) > MAX_REPLY_BYTES:
            self._finish(poller, fdmap, ProtocolError("reply too large"))
            return
        self._buf = buf[pos:]
        self._pos = 0


def _connect_nonblocking(family, sockaddr):
    """A non-blocking TCP socket whose connect is under way (or done); raises OSError."""
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        err = sock.connect_ex(sockaddr)
    except OSError:  # e.g. bad scope id
        sock.close()
        raise
    if err not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
        sock.close()
        raise OSError(err, _strerror(err))
    return sock


def run_exchanges(exchanges, deadline, stop=None):
    """Run all exchanges concurrently until all are done, ``deadline``
    (a ``time.monotonic()`` value) passes, or ``stop()`` returns true.

    Unfinished exchanges get a ``TimeoutError``, or are marked abandoned
    (``done`` false, no error) when ``stop`` ended the loop early; their
    sockets are closed either way.  Never raises for network problems.
    """
    poller = select.poll()
    fdmap = {}
    for ex in exchanges:
        ex._start(poller, fdmap)
    while fdmap:
        if stop is not None and stop():
            break
        remaining = deadline - _monotonic()
        if remaining <= 0:
            break
        try:
            events = poller.poll(int(remaining * 1000) + 1)
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            continue
        for fd, ev in events:
            ex = fdmap.get(fd)
            if ex is not None:
                ex._event(ev, poller, fdmap)
    stopped_early = bool(fdmap) and stop is not None and _monotonic() < deadline
    for ex in exchanges:
        if ex.state != _DONE:
            if stopped_early:
                ex._close(poller, fdmap)
                ex.state = _ABANDONED
            else:
                ex._finish(poller, fdmap, TimeoutError(
                    errno.ETIMEDOUT, "no complete answer within the time budget"))
    return exchanges


# --------------------------------------------------------------------------
# Blocking helpers for other modules of the collection
# --------------------------------------------------------------------------

def redis_pipeline(host, port, commands, user=None, password=None, timeout=2.0,
                   raise_on_error=True):
    """Send several commands on one connection (pipelined, after AUTH when a
    password/user is given) and return the list of replies, one per command.

    ``timeout`` (seconds) bounds the whole call.  Network problems raise
    ``OSError`` (``ConnectionRefusedError``, ``TimeoutError`` ...); a failed
    AUTH raises ``ReplyError``; error replies to ``commands`` raise the first
    ``ReplyError`` unless ``raise_on_error`` is false, in which case they are
    returned as ``ReplyError`` instances in the list.
    """
    commands = [list(c) for c in commands]
    auth = auth_command(user, password)
    all_cmds = ([auth] if auth else []) + commands
    ex = Exchange(host, port, all_cmds)
    run_exchanges([ex], _monotonic() + timeout)
    replies = ex.replies
    if auth and replies and isinstance(replies[0], ReplyError):
        raise replies[0]
    if not ex.complete:
        raise ex.error or TimeoutError(errno.ETIMEDOUT, "timed out")
    replies = replies[1:] if auth else replies
    if raise_on_error:
        for r in replies:
            if isinstance(r, ReplyError):
                raise r
    return replies


def redis_call(host, port, args, user=None, password=None, timeout=2.0):
    """Run one command and return its parsed reply (bytes/int/list/None).

    Raises ``ReplyError`` (a ``RespError``) for error replies, ``OSError`` /
    ``TimeoutError`` for network problems.
    """
    return redis_pipeline(host, port, [args], user=user, password=password,
                          timeout=timeout)[0]


def resp_to_text(value):
    """Convert a parsed reply to str/int/list/None (bytes decoded as UTF-8)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [resp_to_text(v) for v in value]
    if isinstance(value, ReplyError):
        return "-" + value.message
    return value


# --------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------

def canonical_host(host):
    """Canonical form for comparing addresses: IP literals normalised
    (IPv6 compressed lower-case, IPv4-mapped IPv6 -> IPv4), hostnames
    lower-cased without a trailing dot."""
    h = strip_brackets(host.strip())
    for fam in (_socket.AF_INET, _socket.AF_INET6):
        try:
            packed = _socket.inet_pton(fam, h)
        except (OSError, ValueError):
            continue
        if fam == _socket.AF_INET6 and packed[:12] == b"\0" * 10 + b"\xff\xff":
            return _socket.inet_ntop(_socket.AF_INET, packed[12:])
        return _socket.inet_ntop(fam, packed)
    h = h.lower()
    if h.endswith(".") and len(h) > 1:
        h = h[:-1]
    return h


def format_hostport(host, port):
    h = strip_brackets(host)
    if ":" in h:
        return "[%s]:%s" % (h, port)
    return "%s:%s" % (h, port)


def _parse_port(text, what):
    try:
        port = int(text)
    except ValueError:
        raise ConfigError("%s: port %r is not an integer" % (what, text))
    if not 0 < port < 65536:
        raise ConfigError("%s: port %d out of range" % (what, port))
    return port


def split_hostport(item, default_port=DEFAULT_SENTINEL_PORT):
    """'host:port', '[v6]:port', 'host' or '[v6]' -> (host, port)."""
    if item.startswith("["):
        close = item.find("]")
        if close < 0:
            raise ConfigError("address %r: missing ']'" % item)
        host, rest = item[1:close], item[close + 1:]
        if rest == "":
            return host, default_port
        if not rest.startswith(":"):
            raise ConfigError("address %r: expected ':port' after ']'" % item)
        return host, _parse_port(rest[1:], "address %r" % item)
    if item.count(":") > 1:
        raise ConfigError("address %r: write IPv6 addresses in brackets, e.g. [::1]:26379" % item)
    if ":" in item:
        host, port = item.split(":", 1)
        if not host:
            raise ConfigError("address %r: empty host" % item)
        return host, _parse_port(port, "address %r" % item)
    return item, default_port


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

KNOWN_KEYS = (
    "redis_host", "redis_port", "redis_user", "redis_password",
    "announce_host", "announce_port", "master_name", "sentinels",
    "sentinel_user", "sentinel_password", "agreement", "budget_ms",
    "state_file", "syslog_ident", "watch_ms", "poll_ms", "track_file",
)
SECRET_KEYS = ("redis_password", "sentinel_password")


def parse_config_text(text):
    """Parse the ``key=value`` format into a dict of raw string values.

    Lines whose first non-blank character is '#' and blank lines are
    ignored.  The value is everything after the first '=' up to the end of
    the line, verbatim.  Unknown or repeated keys are errors.
    """
    raw = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("line %d: expected key=value" % lineno)
        if key not in KNOWN_KEYS:
            raise ConfigError("line %d: unknown key %r" % (lineno, key[:40]))
        if key in raw:
            raise ConfigError("line %d: key %r given twice" % (lineno, key))
        raw[key] = value
    return raw


def read_config(path):
    """Read and parse a config file (see ``parse_config_text``)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(1048576)
    except OSError as exc:
        raise ConfigError("cannot read config file %s: %s" % (path, exc.strerror or exc))
    return parse_config_text(data.decode("utf-8", "surrogateescape"))


def build_settings(raw):
    """Validate raw key->value strings and return the settings dict used by
    ``evaluate``.  Empty optional values count as unset."""
    def opt(key):
        value = raw.get(key)
        if value is None or value == "":
            return None
        return value

    def text(key, default=None):
        value = opt(key)
        return value.strip() if value is not None else default

    def required(key):
        value = text(key)
        if not value:
            raise ConfigError("missing required key %r" % key)
        return value

    s = {}
    s["redis_host"] = text("redis_host", "127.0.0.1")
    s["redis_port"] = _parse_port(text("redis_port", "6379"), "redis_port")
    s["redis_user"] = opt("redis_user")
    s["redis_password"] = opt("redis_password")
    s["announce_host"] = strip_brackets(required("announce_host"))
    ap = text("announce_port")
    s["announce_port"] = _parse_port(ap, "announce_port") if ap else s["redis_port"]
    master_name = opt("master_name")
    if not master_name:
        raise ConfigError("missing required key 'master_name'")
    s["master_name"] = master_name
    sentinels = []
    seen = set()
    for item in required("sentinels").split():
        host, port = split_hostport(item, DEFAULT_SENTINEL_PORT)
        key = (canonical_host(host), port)
        if key in seen:
            raise ConfigError("sentinel %s listed twice" % item)
        seen.add(key)
        sentinels.append((host, port))
    s["sentinels"] = sentinels
    s["sentinel_user"] = opt("sentinel_user")
    s["sentinel_password"] = opt("sentinel_password")
    agreement = (text("agreement", "majority") or "majority").lower()
    n = len(sentinels)
    if agreement == "majority":
        need = n // 2 + 1
    elif agreement == "all":
        need = n
    else:
        try:
            need = int(agreement)
        except ValueError:
            raise ConfigError("agreement must be 'majority', 'all' or an integer")
        if not 1 <= need <= n:
            raise ConfigError("agreement %d must be between 1 and the number of sentinels (%d)"
                              % (need, n))
        agreement = str(need)
    s["agreement"] = agreement
    s["required"] = need
    try:
        budget = int(text("budget_ms", str(DEFAULT_BUDGET_MS)))
    except ValueError:
        raise ConfigError("budget_ms must be an integer (milliseconds)")
    if not 10 <= budget <= 60000:
        raise ConfigError("budget_ms must be between 10 and 60000")
    s["budget_ms"] = budget
    s["state_file"] = opt("state_file")
    s["track_file"] = opt("track_file")
    for key, default, low in (("watch_ms", 0, 0), ("poll_ms", DEFAULT_POLL_MS, 10)):
        try:
            s[key] = int(text(key, str(default)))
        except ValueError:
            raise ConfigError("%s must be an integer (milliseconds)" % key)
        if not low <= s[key] <= 60000:
            raise ConfigError("%s must be between %d and 60000" % (key, low))
    s["syslog_ident"] = text("syslog_ident") or DEFAULT_SYSLOG_IDENT
    return s


def load_settings(path=None, overrides=None):
    """Settings from a config file and/or a dict of overrides (override wins)."""
    raw = read_config(path) if path else {}
    if overrides:
        for key, value in overrides.items():
            if key not in KNOWN_KEYS:
                raise ConfigError("unknown key %r" % key)
            if value is not None:
                raw[key] = value if isinstance(value, str) else str(value)
    return build_settings(raw)


# --------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------

def _redact(text, settings):
    """Never let a secret reach a reason/log line, even if echoed by a server."""
    for key in SECRET_KEYS:
        secret = settings.get(key)
        if secret and len(secret) >= 1 and secret in text:
            text = text.replace(secret, "***")
    return text


def _err_text(err):
    if isinstance(err, ReplyError):
        return "-" + err.message[:200]
    if isinstance(err, TimeoutError) or (isinstance(err, OSError) and err.errno == errno.ETIMEDOUT):
        return "timeout"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower() if err.errno == errno.ECONNREFUSED else err.strerror
    return str(err) or err.__class__.__name__


def _settle_auth_and_reach(ex, auth, r):
    """Record a failed AUTH or a missing answer in r; True when the command's own reply is there."""
    if auth and ex.replies and isinstance(ex.replies[0], ReplyError):
        r["status"] = "auth_failed"
        r["error"] = "AUTH failed: " + _err_text(ex.replies[0])
        return False
    if not ex.complete:
        r["status"] = "unreachable"
        r["error"] = _err_text(ex.error) if ex.error else "no answer"
        return False
    return True


def _interpret_redis(ex, auth):
    """Fill ex.result with the local Redis findings."""
    r = {"address": format_hostport(ex.host, ex.port), "role": None, "master": False}
    ex.result = r
    if not _settle_auth_and_reach(ex, auth, r):
        return r
    role = ex.replies[-1]
    if isinstance(role, ReplyError):
        r["status"] = "error"
        r["error"] = "ROLE failed: " + _err_text(role)
    elif not isinstance(role, list) or not role or not isinstance(role[0], bytes):
        r["status"] = "error"
        r["error"] = "unexpected ROLE reply"
    else:
        name = role[0].decode("ascii", "replace")
        r["role"] = name
        r["status"] = "ok"
        try:
            if name == "master":
                r["master"] = True
                r["offset"] = role[1]
                r["replicas"] = [
                    {"address": format_hostport(rep[0].decode("utf-8", "replace"), int(rep[1])),
                     "offset": int(rep[2])}
                    for rep in role[2]]
            elif name == "slave":
                r["master_address"] = format_hostport(role[1].decode("utf-8", "replace"), role[2])
                r["link_status"] = role[3].decode("ascii", "replace")
                r["offset"] = role[4]
        except (IndexError, TypeError, ValueError, AttributeError):
            pass  # details are informational only; the role word decides
    ex.result = r
    return r


def _pairs(reply):
    """A flat RESP2 field/value list -> dict of bytes (malformed input -> {})."""
    if not isinstance(reply, list):
        return {}
    return {k: v for k, v in zip(reply[0::2], reply[1::2]) if isinstance(k, bytes)}


# States of a Sentinel's failover in which the replica to promote is chosen (flag "promoted") and
# SLAVEOF NO ONE has been sent to it: from here on the old master is being deposed.
PROMOTING_STATES = (b"send_slaveof_noone", b"wait_promotion", b"reconf_slaves", b"update_config")
ANSWERED = ("agree", "other_master", "unknown_master")  # statuses of a Sentinel that gave a valid answer


def _interpret_sentinel(ex, auth, want_host, want_port):
    """Fill ex.result from [AUTH] + get-master-addr-by-name + SENTINEL MASTER."""
    r = {"address": format_hostport(ex.host, ex.port), "agrees": False, "master": None,
         "failover": None}
    if _settle_auth_and_reach(ex, auth, r):
        reply = ex.replies[-2]
        if isinstance(reply, ReplyError):
            r["status"] = "error"
            r["error"] = _err_text(reply)
        elif reply is None:
            r["status"] = "unknown_master"
            r["error"] = "nil reply: master name unknown to this sentinel"
        elif (isinstance(reply, list) and len(reply) == 2
              and isinstance(reply[0], bytes) and isinstance(reply[1], bytes)):
            host = reply[0].decode("utf-8", "replace")
            try:
                port = int(reply[1])
            except ValueError:
                port = -1
            r["master"] = format_hostport(host, port)
            if port == want_port and canonical_host(host) == want_host:
                r["status"] = "agree"
                r["agrees"] = True
            else:
                r["status"] = "other_master"
        else:
            r["status"] = "error"
            r["error"] = "unexpected reply"
        info = _pairs(ex.replies[-1])
        state = info.get(b"failover-state")
        if (b"failover_in_progress" in (info.get(b"flags") or b"").split(b",")
                and state in PROMOTING_STATES and r["status"] in ("agree", "other_master")):
            try:
                old = format_hostport(info[b"ip"].decode("utf-8", "replace"), int(info[b"port"]))
                deposing_me = (int(info[b"port"]) == want_port
                               and canonical_host(info[b"ip"].decode("utf-8", "replace")) == want_host)
            except (KeyError, ValueError):
                old, deposing_me = None, False
            r["failover"] = {"state": state.decode("ascii", "replace"), "old_master": old,
                             "deposing_me": deposing_me, "promoted": None}
    ex.result = r
    return r


def _promoted_replica(reply):
    """Address of the replica flagged "promoted" in a SENTINEL REPLICAS reply, or None."""
    if not isinstance(reply, list):
        return None
    for item in reply:
        d = _pairs(item)
        if b"promoted" in (d.get(b"flags") or b"").split(b","):
            try:
                return d[b"ip"].decode("utf-8", "replace"), int(d[b"port"])
            except (KeyError, ValueError):
                return None
    return None


def evaluate(settings, complete=False, start=None):
    """Decide whether this node should hold the VIP.

    Returns a dict: ``promote`` (bool), ``verdict`` ('promote'|'demote'),
    ``reason`` (one line, no secrets), ``redis`` (local findings),
    ``sentinels`` (one dict per configured Sentinel), ``agreeing``,
    ``required``, ``configured``, ``answered``, ``elapsed_ms``.

    With ``complete=False`` (the track script) it stops as soon as the
    verdict cannot change any more; with ``complete=True`` (the Ansible
    module) it waits for every answer within the budget, for reporting.
    The verdict is the same either way.
    """
    t0 = _monotonic() if start is None else start
    deadline = t0 + settings["budget_ms"] / 1000.0
    want_host = canonical_host(settings["announce_host"])
    want_port = settings["announce_port"]
    required = settings["required"]

    r_auth = auth_command(settings.get("redis_user"), settings.get("redis_password"))
    redis_ex = Exchange(settings["redis_host"], settings["redis_port"],
                        ([r_auth] if r_auth else []) + [["ROLE"]])
    s_auth = auth_command(settings.get("sentinel_user"), settings.get("sentinel_password"))
    s_cmds = ([s_auth] if s_auth else []) + [
        ["SENTINEL", "get-master-addr-by-name", settings["master_name"]],
        ["SENTINEL", "MASTER", settings["master_name"]]]
    sent_exs = [Exchange(h, p, s_cmds) for h, p in settings["sentinels"]]

    def interpret():
        if redis_ex.done and redis_ex.result is None:
            _interpret_redis(redis_ex, r_auth)
        agree = pending = 0
        for ex in sent_exs:
            if ex.done:
                if ex.result is None:
                    _interpret_sentinel(ex, s_auth, want_host, want_port)
                if ex.result["agrees"]:
                    agree += 1
            else:
                pending += 1
        return agree, pending

    def decided():
        agree, pending = interpret()
        if redis_ex.done and not redis_ex.result["master"]:
            return True
        if agree + pending < required:
            return True
        if not redis_ex.done:
            return False
        if agree >= required:
            return True
        # A failover leader among the answers decides (see below) without the missing answers, so a
        # dead Sentinel's timeout does not eat the budget of the SENTINEL REPLICAS question.
        answers = [ex.result for ex in sent_exs if ex.done]
        return (sum(1 for r in answers if r["status"] in ANSWERED) >= required
                and any(r["failover"] for r in answers))

    run_exchanges([redis_ex] + sent_exs, deadline, None if complete else decided)
    agree, _pending = interpret()

    redis = redis_ex.result or {"address": format_hostport(redis_ex.host, redis_ex.port),
                                "status": "not_checked", "role": None, "master": False}
    sentinels = []
    for ex in sent_exs:
        sentinels.append(ex.result or {"address": format_hostport(ex.host, ex.port),
                                       "status": "not_checked", "agrees": False, "failover": None,
                                       "master": None})
    answered = sum(1 for s in sentinels if s["status"] in ANSWERED)
    n = len(sentinels)
    me = format_hostport(want_host, want_port)

    # A Sentinel that is failing over our master: once it has sent SLAVEOF NO ONE to the replica it
    # chose, the old master is deposed (drop the VIP now, not when the majority's answer changes),
    # and that replica may take the VIP as soon as it reports role:master -- the leader was elected
    # by a majority for this epoch -- instead of waiting up to a second for the leader's next INFO.
    deposers = [s for s in sentinels if s.get("failover") and s["failover"]["deposing_me"]]
    promoter = None
    if redis["master"] and not deposers and agree < required and answered >= required:
        leaders = [ex for ex in sent_exs
                   if ex.result and ex.result.get("failover") and not ex.result["failover"]["deposing_me"]]
        if leaders and _monotonic() < deadline:
            replicas = [Exchange(ex.host, ex.port, ([s_auth] if s_auth else []) +
                                 [["SENTINEL", "REPLICAS", settings["master_name"]]]) for ex in leaders]
            run_exchanges(replicas, deadline)
            for ex, rex in zip(leaders, replicas):
                chosen = _promoted_replica(rex.replies[-1]) if rex.complete else None
                if chosen:
                    ex.result["failover"]["promoted"] = format_hostport(*chosen)
                    if chosen[1] == want_port and canonical_host(chosen[0]) == want_host:
                        promoter = promoter or ex.result
    promote = bool(redis["master"]) and not deposers and (agree >= required or promoter is not None)

    # One-line reason.
    if redis["status"] == "ok":
        if redis["master"]:
            local = "local redis %s is master" % redis["address"]
        else:
            local = "local redis %s is %s" % (redis["address"], redis["role"])
            if redis.get("master_address"):
                local += " of %s (link %s)" % (redis["master_address"], redis.get("link_status"))
    elif redis["status"] == "not_checked":
        local = "local redis %s not awaited" % redis["address"]
    else:
        local = "local redis %s: %s" % (redis["address"], redis.get("error"))
    details = []
    for s in sentinels:
        if s["status"] == "agree":
            continue
        if s["status"] == "other_master":
            details.append("%s names %s" % (s["address"], s["master"]))
        elif s["status"] != "not_checked":
            details.append("%s %s" % (s["address"], s.get("error") or s["status"]))
    sent = "%d/%d sentinels name %s master of %r (%d required)" % (
        agree, n, me, settings["master_name"], required)
    if details:
        sent += ": " + ", ".join(details)
    if deposers:
        sent += "; %s is failing over this master (%s)" % (
            deposers[0]["address"], deposers[0]["failover"]["state"])
    elif promoter is not None:
        sent += "; %s promoted %s (%s)" % (promoter["address"], me, promoter["failover"]["state"])
    skipped = sum(1 for s in sentinels if s["status"] == "not_checked")
    if skipped == n and not redis["master"] and redis["status"] != "not_checked":
        reason = local  # decided by the local role alone; sentinels not awaited
    else:
        if skipped:
            sent += " (%d not awaited: verdict already certain)" % skipped
        reason = "%s; %s" % (local, sent)
    reason = _redact(reason, settings)
    for item in [redis] + sentinels:
        if item.get("error"):
            item["error"] = _redact(item["error"], settings)

    return {
        "promote": promote,
        "verdict": PROMOTE if promote else DEMOTE,
        "reason": reason,
        "redis": redis,
        "sentinels": sentinels,
        "agreeing": agree,
        "promoted_by": promoter["address"] if promoter is not None else None,
        "deposed_by": deposers[0]["address"] if deposers else None,
        "required": required,
        "configured": n,
        "answered": answered,
        "agreement": settings["agreement"],
        "master_name": settings["master_name"],
        "announce": me,
        "elapsed_ms": round((_monotonic() - t0) * 1000, 1),
    }


# --------------------------------------------------------------------------
# Verdict memory and syslog (script mode only)
# --------------------------------------------------------------------------

def read_state(path):
    """Previous verdict ('promote'/'demote') or None if unknown/unreadable."""
    try:
        with open(path, "rb") as fh:
            word = fh.read(64).split(b"\n", 1)[0].strip()
    except OSError:
        return None
    if word in (b"promote", b"demote"):
        return word.decode("ascii")
    return None


def replace_file(path, data):
    """Atomically replace a file (tmp file + rename). Returns None on success or the error text."""
    import os  # only on a change: keep the every-second path light
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return "%s: %s" % (exc.filename or path, exc.strerror or exc)
    return None


def write_state(path, verdict, reason=""):
    """Remember the verdict (and why) in the state file. Returns None or the error text."""
    return replace_file(path, ("%s\n%s\n" % (verdict, reason)).encode("utf-8", "replace"))


def record_verdict(settings, result, log=True):
    """Remember the verdict in ``state_file`` and log ONE syslog line when
    it differs from the remembered one.  Returns True when it logged.

    Without ``state_file`` nothing is remembered or logged.  If the state
    file cannot be read (missing, garbage, no permission) the previous
    verdict counts as unknown, so the current one is logged and written.
    If it cannot be written the log line says so; the next run will again
    see "unknown" and log again (loud on purpose: it is a misconfiguration).
    The verdict itself never depends on the state file.
    """
    path = settings.get("state_file")
    if not path:
        return False
    previous = read_state(path)
    verdict = result["verdict"]
    if previous == verdict:
        return False
    problem = write_state(path, verdict, result["reason"])
    msg = "VIP check verdict %s (was %s): %s" % (
        verdict.upper(), previous.upper() if previous else "unknown", result["reason"])
    if problem:
        msg += " [state file not written: %s]" % problem
    msg = _redact(msg, settings)
    if log:
        import syslog
        syslog.openlog(settings.get("syslog_ident") or DEFAULT_SYSLOG_IDENT, syslog.LOG_PID,
                       syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_NOTICE if verdict == PROMOTE else syslog.LOG_WARNING, msg)
        syslog.closelog()
    return True


def watch(settings, start):
    """One track-script run: evaluate, then with ``watch_ms`` keep re-evaluating every ``poll_ms``.

    keepalived cannot run a vrrp_script more often than once a second, so a change (a new master
    promoted by Sentinel, a master deposed) would wait up to a second for the next run. With
    ``watch_ms`` the run goes on watching while its verdict equals the remembered one (state file)
    and ends at the first evaluation that differs, so keepalived learns of it at once. A new
    evaluation starts only if it can finish, with its full budget, within ``watch_ms`` of the start;
    keepalived's vrrp_script timeout must exceed ``watch_ms``. Without a remembered verdict (no
    state file, first run) the first evaluation is final.
    """
    result = evaluate(settings, start=start)
    limit = settings.get("watch_ms") or 0
    if not limit or not settings.get("state_file"):
        return result
    previous = read_state(settings["state_file"])
    poll = settings["poll_ms"] / 1000.0
    reserve = (settings["budget_ms"] + settings["poll_ms"]) / 1000.0
    while previous == result["verdict"] and _monotonic() - start + reserve <= limit / 1000.0:
        time.sleep(poll)
        result = evaluate(settings)
    return result


# Sentinel events that can change the verdict; the watcher subscribes to them on every Sentinel and
# re-evaluates as soon as one arrives instead of at the next poll.
EVENT_CHANNELS = (
    "+switch-master", "+sdown", "-sdown", "+odown", "-odown", "+elected-leader", "+selected-slave",
    "+failover-state-send-slaveof-noone", "+failover-state-wait-promotion", "+promoted-slave",
    "+failover-state-reconf-slaves", "+failover-end", "+failover-end-for-timeout",
    "-failover-abort-not-elected", "-failover-abort-no-good-slave", "-failover-abort-slave-timeout",
    "+convert-to-slave", "+reboot", "+tilt", "-tilt",
)


class _Subscription(object):
    """One non-blocking SUBSCRIBE connection to a Sentinel's event channels (see EventFeed)."""

    CONNECT_TIMEOUT_S = 1.0
    RETRY_S = 2.0          # after a lost or refused connection
    REFUSED_RETRY_S = 30.0  # after an error reply (wrong password, no channel permission)

    def __init__(self, host, port, payload):
        self.host, self.port, self.payload = host, int(port), payload
        self.sock = None
        self.fd = -1
        self.state = None       # None (idle), "connecting", "reading"
        self.since = 0.0
        self.next_try = 0.0
        self.buf = b""

    def close(self, now, retry_s):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.fd, self.state, self.buf = None, -1, None, b""
        self.next_try = now + retry_s

    def start(self, now):
        try:
            sock = _connect_nonblocking(*_resolve(self.host, self.port)[0])
        except (OSError, UnicodeError, IndexError):
            self.next_try = now + self.RETRY_S
            return
        self.sock, self.fd, self.state, self.since = sock, sock.fileno(), "connecting", now

    def event(self, now):
        """Handle readiness; returns the number of event messages received."""
        if self.state == "connecting":
            if self.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR):
                self.close(now, self.RETRY_S)
                return 0
            try:
                self.sock.sendall(self.payload)  # small: fits the empty socket buffer
            except OSError:
                self.close(now, self.RETRY_S)
                return 0
            self.state = "reading"
            return 0
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self.close(now, self.RETRY_S)
            return 0
        if not data:
            self.close(now, self.RETRY_S)
            return 0
        buf, pos, events = self.buf + data, 0, 0
        try:
            while True:
                value, nxt = parse_reply(buf, pos)
                if nxt < 0:
                    break
                pos = nxt
                if isinstance(value, ReplyError):
                    self.close(now, self.REFUSED_RETRY_S)
                    return events
                if isinstance(value, list) and value and value[0] == b"message":
                    events += 1
        except ProtocolError:
            self.close(now, self.RETRY_S)
            return events
        self.buf = buf[pos:]
        if len(self.buf) > MAX_REPLY_BYTES:
            self.close(now, self.RETRY_S)
        return events


class EventFeed(object):
    """The watcher's subscriptions to every configured Sentinel's event channels (EVENT_CHANNELS).

    ``wait(timeout)`` sleeps like ``time.sleep`` but returns early, with the number of events, as soon
    as a Sentinel publishes one. Broken, refused or unauthorised subscriptions are retried in the
    background (every 2 s, every 30 s after an error reply) and never block: without events the watcher
    simply polls."""

    def __init__(self, settings):
        auth = auth_command(settings.get("sentinel_user"), settings.get("sentinel_password"))
        payload = b"".join(encode_command(c) for c in
                           ([auth] if auth else []) + [["SUBSCRIBE"] + list(EVENT_CHANNELS)])
        self.subs = [_Subscription(h, p, payload) for h, p in settings["sentinels"]]

    def wait(self, timeout, stop=()):
        """Sleep up to ``timeout`` s; return early (number of events) on an event or when ``stop`` is
        true (checked every 0.2 s at least: signal handlers do not interrupt poll, PEP 475)."""
        end = _monotonic() + timeout
        events = 0
        while True:
            now = _monotonic()
            poller = select.poll()
            fdmap = {}
            for sub in self.subs:
                if sub.state is None and now >= sub.next_try:
                    sub.start(now)
                elif sub.state == "connecting" and now - sub.since > sub.CONNECT_TIMEOUT_S:
                    sub.close(now, sub.RETRY_S)
                if sub.state is not None:
                    poller.register(sub.fd, select.POLLOUT if sub.state == "connecting" else select.POLLIN)
                    fdmap[sub.fd] = sub
            remaining = end - now
            if events or remaining <= 0 or stop:
                return events
            try:
                ready = poller.poll(int(min(remaining, 0.2) * 1000) + 1)
            except InterruptedError:  # pragma: no cover - PEP 475 retries
                ready = []
            for fd, _ev in ready:
                sub = fdmap.get(fd)
                if sub is not None:
                    events += sub.event(_monotonic())

    def close(self):
        for sub in self.subs:
            sub.close(_monotonic(), 0)


TRACK_PROMOTE, TRACK_DEMOTE = b"0\n", b"1\n"


def _sd_notify(message):
    """Tell systemd (Type=notify, WatchdogSec) how the watcher is doing; a no-op outside systemd."""
    import os
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        sock.send(message.encode())
    except OSError:
        pass
    finally:
        sock.close()


def serve(settings, iterations=None):
    """The event-speed mode: evaluate every ``poll_ms`` forever, and at once whenever a Sentinel
    publishes an event (EventFeed), and keep keepalived's ``track_file`` at 0 (hold the VIP) or 1 (do
    not). keepalived reacts to the file at once (inotify), so a change reaches VRRP within one poll at
    most instead of the next once-a-second vrrp_script run.

    Failing safe: SIGTERM writes 1 before exiting; the systemd unit also writes 1 after any exit
    (ExecStopPost) and kills a hung watcher through its watchdog (WATCHDOG=1 is sent every loop).
    The file is rewritten whenever its content differs from the verdict (e.g. keepalived created it).
    """
    import signal
    track = settings.get("track_file")
    if not track:
        raise ConfigError("track_file is required with --watch")
    stop = []

    def _stop(_signum, _frame):
        stop.append(True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    poll = settings["poll_ms"] / 1000.0
    feed = EventFeed(settings)
    ready = False
    done = 0
    while not stop and (iterations is None or done < iterations):
        t0 = _monotonic()
        try:
            result = evaluate(settings, start=t0)
        except Exception:  # a bug must not hold the VIP
            result = {"verdict": DEMOTE, "promote": False, "reason": "internal error"}
        want = TRACK_PROMOTE if result["promote"] else TRACK_DEMOTE
        try:
            with open(track, "rb") as fh:
                have = fh.read(16)
        except OSError:
            have = None
        if have != want:
            replace_file(track, want)
        try:
            record_verdict(settings, result)
        except Exception:
            pass
        if not ready:
            _sd_notify("READY=1")
            ready = True
        _sd_notify("WATCHDOG=1")
        done += 1
        if not stop:
            # Until the next poll, or at once when a Sentinel publishes an event (at most one
            # evaluation per 10 ms however many events arrive).
            if feed.wait(max(0.0, poll - (_monotonic() - t0)), stop):
                time.sleep(max(0.0, 0.01 - (_monotonic() - t0)))
    feed.close()
    replace_file(track, TRACK_DEMOTE)
    _sd_notify("STOPPING=1")
    return 0  # a clean stop, not a failure (systemd)


def main(argv):
    """keepalived entry point: ``vip_check.py CONFIG_FILE``; returns exit code.
    ``vip_check.py --watch CONFIG_FILE`` runs the watcher (see serve) until SIGTERM."""
    start = _monotonic()
    if len(argv) == 2 and argv[0] == "--watch":
        try:
            return serve(build_settings(read_config(argv[1])))
        except ConfigError as exc:
            sys.stderr.write("vip_check: config error: %s\n" % exc)
            return EXIT_CONFIG
    if len(argv) != 1 or argv[0].startswith("-"):
        sys.stderr.write("usage: vip_check.py CONFIG_FILE | vip_check.py --watch CONFIG_FILE\n"
                         "exit 0 = hold the VIP, 1 = do not, 2 = config/usage error\n")
        return EXIT_CONFIG
    try:
        settings = build_settings(read_config(argv[0]))
    except ConfigError as exc:
        sys.stderr.write("vip_check: config error: %s\n" % exc)
        return EXIT_CONFIG
    try:
        result = watch(settings, start)
    except Exception as exc:  # a bug must not hold the VIP; no traceback (no secrets on stderr)
        sys.stderr.write("vip_check: internal error: %s\n" % exc.__class__.__name__)
        return EXIT_DEMOTE
    try:
        record_verdict(settings, result)
    except Exception:  # logging must never change the verdict
        pass
    return EXIT_PROMOTE if result["promote"] else EXIT_DEMOTE
