# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network client: concurrent non-blocking exchanges (the check) and blocking helpers (the modules)."""

import errno
import select
import time

from .addresses import resolve, strip_brackets
from .errors import ProtocolError, ReplyError
from .resp import MAX_REPLY_BYTES, auth_command, encode_command, parse_reply
from .transport import Conn

_monotonic = time.monotonic

_CONNECTING, _SENDING, _READING, _DONE, _ABANDONED = 0, 1, 2, 3, 4
_UNREACHABLE = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT, errno.EHOSTDOWN)


class Exchange(object):
    """One connection: send ``commands`` pipelined, collect len(commands) replies.

    After ``run_exchanges`` returns: ``replies`` holds the parsed replies
    received (ReplyError instances for error replies), ``error`` is None or
    the OSError/TimeoutError/ProtocolError that stopped it, ``complete`` is
    True when every reply arrived.

    ``tls`` (transport.tls_for) makes it a TLS connection. With a ``pool`` (transport.Pool) it takes a
    connection from the pool, and gives it back when done or abandoned (a handshake under way goes on next
    time; the replies still due are skipped next time); a pooled connection that fails before any reply is
    replaced by a new one.
    """

    __slots__ = ("host", "port", "payload", "want", "replies", "error", "state", "result",
                 "tls", "pool", "_addrs", "_conn", "_out", "_reused")

    def __init__(self, host, port, commands, tls=None, pool=None):
        self.host = host
        self.port = int(port)
        self.payload = b"".join(encode_command(c) for c in commands)
        self.want = len(commands)
        self.replies = []
        self.error = None
        self.state = _CONNECTING
        self.result = None
        self.tls, self.pool = tls, pool
        self._addrs = None
        self._conn = None
        self._out = b""
        self._reused = False

    @property
    def complete(self):
        return len(self.replies) >= self.want

    @property
    def done(self):
        return self.state == _DONE

    def host_unreachable(self):
        """True while nothing shows that the peer's host is reachable: no TCP connection yet, what was sent not
        acknowledged by its TCP stack, or an error only a network fault gives. A refused or reset connection, or a
        request the host has acknowledged but its server not answered (busy, stalled), shows that it is up."""
        if self.state == _DONE:
            return self.error is not None and getattr(self.error, "errno", None) in _UNREACHABLE
        conn = self._conn
        if conn is None or not (conn.open or conn._shaking):
            return True
        return conn.unacked() != 0

    def _release(self, poller, fdmap, keep=False):
        """Stop polling the connection; keep it in the pool (``keep``) or close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            poller.unregister(conn.fd)
        except (KeyError, ValueError):
            pass
        fdmap.pop(conn.fd, None)
        if keep and self.pool is not None:
            if self.state == _READING:
                conn.owed += self.want - len(self.replies)
            self.pool.give(self.host, self.port, conn)
        else:
            conn.close()

    def _finish(self, poller, fdmap, error=None):
        if error is not None and self.error is None:
            self.error = error
        self._release(poller, fdmap, keep=error is None)
        self.state = _DONE

    def _fail(self, poller, fdmap, error):
        """A pooled connection that fails before any reply was stale: start again on a new one."""
        if self._reused and not self.replies:
            self._release(poller, fdmap)
            self._reused = False
            self._open(poller, fdmap)
        else:
            self._finish(poller, fdmap, error)

    def _start(self, poller, fdmap):
        conn = self.pool.take(self.host, self.port) if self.pool is not None else None
        if conn is None:
            self._open(poller, fdmap)
            return
        self._conn, self._reused = conn, True
        self._out, self.state = self.payload, _SENDING if conn.open else _CONNECTING
        fdmap[conn.fd] = self
        poller.register(conn.fd, select.POLLOUT if conn.open else conn.mask)

    def _open(self, poller, fdmap):
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
                conn = Conn(family, sockaddr, strip_brackets(self.host), self.tls)
            except OSError as exc:
                last = exc
                continue
            self._conn, self._out, self.state = conn, self.payload, _CONNECTING
            fdmap[conn.fd] = self
            poller.register(conn.fd, conn.mask)
            return
        self._finish(poller, fdmap, last or OSError("no address for %r" % self.host))

    def _event(self, ev, poller, fdmap):
        if self.state == _CONNECTING and not self._connect_step(poller, fdmap):
            return
        if self.state == _SENDING:
            self._send_step(poller, fdmap)
        elif self.state == _READING:
            self._read_step(poller, fdmap)

    def _connect_step(self, poller, fdmap):
        """Connect (and handshake); True once the connection is open."""
        conn = self._conn
        try:
            if not conn.progress():
                poller.modify(conn.fd, conn.mask)
                return False
        except OSError as exc:
            if self._reused:
                self._fail(poller, fdmap, exc)
                return False
            self._release(poller, fdmap)
            self.error = exc
            if self._addrs:
                self.error = None
                self._open(poller, fdmap)
            else:
                self.state = _DONE
            return False
        self.state = _SENDING
        return True

    def _send_step(self, poller, fdmap):
        try:
            sent = self._conn.send(self._out)
        except OSError as exc:
            self._fail(poller, fdmap, exc)
            return
        self._out = self._out[sent:]
        if not self._out:
            self.state = _READING
            poller.modify(self._conn.fd, select.POLLIN)

    def _read_step(self, poller, fdmap):
        conn = self._conn
        try:
            data = conn.recv()
        except OSError as exc:
            self._fail(poller, fdmap, exc)
            return
        if data is None:
            return
        if not data:
            self._fail(poller, fdmap, ConnectionResetError(
                errno.ECONNRESET, "connection closed by server after %d of %d replies"
                % (len(self.replies), self.want)))
            return
        buf, pos = conn.buf + data if conn.buf else data, 0
        try:
            while len(self.replies) < self.want:
                value, nxt = parse_reply(buf, pos)
                if nxt < 0:
                    break
                pos = nxt
                if conn.owed:
                    conn.owed -= 1  # the reply to an earlier exchange that was abandoned
                else:
                    self.replies.append(value)
        except ProtocolError as exc:
            self._finish(poller, fdmap, exc)
            return
        conn.buf = buf[pos:]
        if len(self.replies) >= self.want:
            self._finish(poller, fdmap)
        elif len(conn.buf) > MAX_REPLY_BYTES:
            self._finish(poller, fdmap, ProtocolError("reply too large"))


def run_exchanges(exchanges, deadline, stop=None, checkpoint=None):
    """Run all exchanges concurrently until all are done, ``deadline``
    (a ``time.monotonic()`` value) passes, or ``stop()`` returns true.

    ``checkpoint`` = (when, fn): ``fn()`` is called once when ``when`` (monotonic) passes while exchanges are
    still under way (the watcher's fence looks at who has not answered yet).

    Unfinished exchanges get a ``TimeoutError``, or are marked abandoned
    (``done`` false, no error) when ``stop`` ended the loop early; their
    connections are closed, or kept in the pool when abandoned while connecting
    or with every command sent.  Never raises for network problems.
    """
    poller = select.poll()
    fdmap = {}
    for ex in exchanges:
        ex._start(poller, fdmap)
    while fdmap:
        if stop is not None and stop():
            break
        now = _monotonic()
        if checkpoint is not None and now >= checkpoint[0]:
            checkpoint, fire = None, checkpoint[1]
            fire()
            continue
        remaining = deadline - now
        if remaining <= 0:
            break
        if checkpoint is not None:
            remaining = min(remaining, checkpoint[0] - now)
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
                ex._release(poller, fdmap, keep=ex.state in (_CONNECTING, _READING))
                ex.state = _ABANDONED
            else:
                ex._finish(poller, fdmap, TimeoutError(
                    errno.ETIMEDOUT, "no complete answer within the time budget"))
    return exchanges


# --------------------------------------------------------------------------
# Blocking helpers for other modules of the collection
# --------------------------------------------------------------------------

def redis_pipeline(host, port, commands, user=None, password=None, timeout=2.0,
                   raise_on_error=True, tls=None):
    """Send several commands on one connection (pipelined, after AUTH when a
    password/user is given) and return the list of replies, one per command.

    ``timeout`` (seconds) bounds the whole call.  Network problems raise
    ``OSError`` (``ConnectionRefusedError``, ``TimeoutError`` ...); a failed
    AUTH raises ``ReplyError``; error replies to ``commands`` raise the first
    ``ReplyError`` unless ``raise_on_error`` is false, in which case they are
    returned as ``ReplyError`` instances in the list.  ``tls``: see Exchange.
    """
    commands = [list(c) for c in commands]
    auth = auth_command(user, password)
    all_cmds = ([auth] if auth else []) + commands
    ex = Exchange(host, port, all_cmds, tls=tls)
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


def redis_call(host, port, args, user=None, password=None, timeout=2.0, tls=None):
    """Run one command and return its parsed reply (bytes/int/list/None).

    Raises ``ReplyError`` (a ``RespError``) for error replies, ``OSError`` /
    ``TimeoutError`` for network problems.  ``tls``: see Exchange.
    """
    return redis_pipeline(host, port, [args], user=user, password=password,
                          timeout=timeout, tls=tls)[0]
