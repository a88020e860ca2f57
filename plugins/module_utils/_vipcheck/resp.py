# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RESP2: encoding commands, parsing replies, the AUTH command, replies as text (no I/O here)."""

from .errors import ProtocolError, ReplyError

MAX_REPLY_BYTES = 16 * 1024 * 1024


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


def resp_to_text(value):
    """Convert a parsed reply to str/int/list/None (bytes decoded as UTF-8)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [resp_to_text(v) for v in value]
    if isinstance(value, ReplyError):
        return "-" + value.message
    return value
