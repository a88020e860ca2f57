# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher's subscriptions to the Sentinels' event channels: wake up at once on a failover event."""

import select
import time

from .addresses import resolve, strip_brackets
from .errors import ProtocolError, ReplyError
from .resp import MAX_REPLY_BYTES, auth_command, encode_command, parse_reply
from .transport import Conn, tls_for

_monotonic = time.monotonic
MAX_KEPT = 64  # events kept per Sentinel between two takes (a burst beyond that is dropped, not buffered)


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

    def __init__(self, host, port, payload, tls=None):
        self.host, self.port, self.payload, self.tls = host, int(port), payload, tls
        self.conn = None
        self.fd = -1
        self.state = None       # None (idle), "connecting" (connect, TLS handshake), "reading"
        self.since = 0.0
        self.next_try = 0.0
        self.buf = b""
        self.messages = []      # (channel, payload) text of the events received, until EventFeed.take()

    @property
    def mask(self):
        return self.conn.mask if self.state == "connecting" else select.POLLIN

    def close(self, now, retry_s):
        if self.conn is not None:
            self.conn.close()
        self.conn, self.fd, self.state, self.buf = None, -1, None, b""
        self.next_try = now + retry_s

    def start(self, now):
        try:
            family, sockaddr = resolve(self.host, self.port)[0]
            self.conn = Conn(family, sockaddr, strip_brackets(self.host), self.tls)
        except (OSError, UnicodeError, IndexError):
            self.next_try = now + self.RETRY_S
            return
        self.fd, self.state, self.since = self.conn.fd, "connecting", now

    def _connected(self, now):
        """Connect/handshake progress; subscribe once open (the payload is small: it fits the empty
        socket buffer)."""
        try:
            if not self.conn.progress():
                return
            if self.conn.send(self.payload) != len(self.payload):
                raise OSError("subscription not sent at once")
        except OSError:
            self.close(now, self.RETRY_S)
            return
        self.state = "reading"

    def event(self, now):
        """Handle readiness; returns the number of event messages received."""
        if self.state == "connecting":
            self._connected(now)
            return 0
        try:
            data = self.conn.recv()
        except OSError:
            self.close(now, self.RETRY_S)
            return 0
        if data is None:
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
                if isinstance(value, list) and len(value) == 3 and value[0] == b"message":
                    events += 1
                    if len(self.messages) < MAX_KEPT:
                        self.messages.append(tuple(v.decode("utf-8", "replace") for v in value[1:]))
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
        tls = tls_for(settings)
        self.subs = [_Subscription(h, p, payload, tls) for h, p in settings["sentinels"]]

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
                    poller.register(sub.fd, sub.mask)
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

    def take(self):
        """The (channel, payload) events received since the last take, oldest first per Sentinel."""
        taken = []
        for sub in self.subs:
            taken.extend(sub.messages)
            sub.messages = []
        return taken

    def close(self):
        for sub in self.subs:
            sub.close(_monotonic(), 0)
