# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network client: concurrent non-blocking exchanges (the check) and blocking helpers (the modules)."""

import _socket
import errno
import select
import time

from .addresses import resolve
from .errors import ProtocolError, ReplyError
from .resp import MAX_REPLY_BYTES, auth_command, encode_command, parse_reply

try:
    from posix import strerror as _strerror
except ImportError:  # pragma: no cover - non-POSIX
    from os import strerror as _strerror

_monotonic = time.monotonic

_CONNECTING, _SENDING, _READING, _DONE, _ABANDONED = 0, 1, 2, 3, 4


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
                self._addrs = resolve(self.host, self.port)
            except (OSError, UnicodeError) as exc:
                self._finish(poller, fdmap, exc if isinstance(exc, OSError)
                             else OSError("cannot resolve %r" % self.host))
                return
        last = None
        while self._addrs:
            family, sockaddr = self._addrs.pop(0)
            try:
                sock = connect_nonblocking(family, sockaddr)
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


def connect_nonblocking(family, sockaddr):
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
