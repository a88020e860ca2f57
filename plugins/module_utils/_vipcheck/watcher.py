# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher (``vip_check.py --watch``): keeps keepalived's track_file at poll speed."""

import _socket
import os
import sys
import time

from .errors import ConfigError
from .events import EventFeed
from .fence import Fence
from .follow import Follow
from .metrics import Metrics
from .state import record_verdict, replace_file
from .transport import Pool, tls_for
from .verdict import DEMOTE, evaluate

_monotonic = time.monotonic

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


def _publish(settings, result):
    """Write the verdict to the track_file when it differs, and remember/log it (state file)."""
    want = TRACK_PROMOTE if result["promote"] else TRACK_DEMOTE
    try:
        with open(settings["track_file"], "rb") as fh:
            have = fh.read(16)
    except OSError:
        have = None
    if have != want:
        replace_file(settings["track_file"], want)
    try:
        record_verdict(settings, result)
    except Exception:
        pass


def _evaluate_safely(settings, start, pool, fence=None):
    try:
        return evaluate(settings, start=start, pool=pool, fence=fence)
    except Exception:  # a bug must not hold the VIP
        return {"verdict": DEMOTE, "promote": False, "reason": "internal error"}


class _Extras(object):
    """The watcher's optional parts: the write fence (fence.py), the follower (follow.py) and the metrics file
    (metrics.py)."""

    def __init__(self, settings, previous=None):
        self.fence = Fence(settings) if settings.get("fence_ms") else None
        if self.fence is not None and previous is not None and previous.fence is not None:
            self.fence.paused_at, self.fence.total = previous.fence.paused_at, previous.fence.total
        self.follow = Follow(settings) if settings.get("follow_promotion") else None
        self.metrics = Metrics(settings) if settings.get("metrics_file") else None
        self.problem = None

    def before(self, pool, feed):
        """Before an evaluation: follow a promotion the failover leader announced (events since the last)."""
        messages = feed.take()
        if self.follow is not None:
            try:
                self.follow.heard(messages)
                self.follow.step(pool)
            except Exception as exc:  # a bug must not stop the watcher
                self.follow.pending = None
                sys.stderr.write("vip_check: follow: internal error: %r\n" % (exc,))

    def timeout(self, until_poll):
        """How long the watcher may wait for events: until the next poll, shorter while a follow is pending."""
        retry = self.follow.wait_s() if self.follow is not None else None
        return until_poll if retry is None else min(until_poll, retry)

    def after(self, result, pool, feed, t0):
        if self.fence is not None and "redis" in result:
            self.fence.after(result, pool)
        if self.metrics is not None:
            problem = self.metrics.update(result, _monotonic() - t0, self.fence, feed)
            if problem != self.problem and problem is not False:  # each new problem once, not every poll
                self.problem = problem
                if problem:
                    sys.stderr.write("vip_check: metrics file not written: %s\n" % problem)


def config_stamp(path):
    """What tells that the config file changed (the role replaces it: new inode, size or times; the change time
    also follows a chmod/chown, so a file first unreadable is tried again); None without."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _reloaded(path, stamp, load):
    """(settings, stamp) of a changed config file, or (None, stamp) when unchanged or unreadable (the
    running settings stay: a bad file must not drop the VIP; the error goes to the journal)."""
    now = config_stamp(path)
    if now is None or now == stamp:
        return None, stamp
    try:
        return load(path), now
    except Exception as exc:  # ConfigError, or a file caught half-written: keep the running settings
        sys.stderr.write("vip_check: config %s not reloaded: %s\n" % (path, exc))
        return None, now


def serve(settings, iterations=None, path=None, load=None):
    """The event-speed mode: evaluate every ``poll_ms`` forever, and at once whenever a Sentinel
    publishes an event (EventFeed), and keep keepalived's ``track_file`` at 0 (hold the VIP) or 1 (do
    not). keepalived reacts to the file at once (inotify), so a change reaches VRRP within one poll at
    most instead of the next once-a-second vrrp_script run.

    Failing safe: SIGTERM writes 1 before exiting; the systemd unit also writes 1 after any exit
    (ExecStopPost) and kills a hung watcher through its watchdog (WATCHDOG=1 is sent every loop).
    The file is rewritten whenever its content differs from the verdict (e.g. keepalived created it).

    With ``path`` (and ``load``, the function reading it), a change of the config file is taken at the next
    poll, without a restart (a restart would write 1 and drop the VIP for a moment): the redis_ha roles
    rotate the check's passwords that way.

    SIGHUP (the unit's reload, which the keepalived role sends when it installs new code of the check) makes the
    watcher run itself again with the same command line, in the same process: the track_file keeps its verdict
    meanwhile and the new code writes the next one, so a new release of the check never drops the VIP.
    """
    import signal
    if not settings.get("track_file"):
        raise ConfigError("track_file is required with --watch")
    stop = []

    def _stop(signum, _frame):
        stop.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    poll = settings["poll_ms"] / 1000.0
    feed = EventFeed(settings)
    pool = Pool()  # connections kept open between evaluations: no TLS handshake every poll
    extras = _Extras(settings)
    stamp = config_stamp(path) if path else None
    done = 0
    while not stop and (iterations is None or done < iterations):
        if path:
            fresh, stamp = _reloaded(path, stamp, load)
            if fresh is not None:
                # The pooled connections stay (every evaluation sends AUTH with the settings' passwords), unless
                # the transport changed; the event subscriptions start again with the new settings.
                if tls_for(fresh) is not tls_for(settings):
                    pool.close()
                    pool = Pool()
                feed.close()
                settings, poll = fresh, fresh["poll_ms"] / 1000.0
                feed = EventFeed(settings)
                extras = _Extras(settings, extras)
        extras.before(pool, feed)
        t0 = _monotonic()
        result = _evaluate_safely(settings, t0, pool, extras.fence)
        _publish(settings, result)
        extras.after(result, pool, feed, t0)
        if not done:
            _sd_notify("READY=1")
        _sd_notify("WATCHDOG=1")
        done += 1
        if not stop:
            # Until the next poll, or at once when a Sentinel publishes an event (at most one
            # evaluation per 10 ms however many events arrive).
            if feed.wait(extras.timeout(max(0.0, poll - (_monotonic() - t0))), stop):
                time.sleep(max(0.0, 0.01 - (_monotonic() - t0)))
    feed.close()
    pool.close()
    if stop and all(signum == signal.SIGHUP for signum in stop):
        _run_again()
    replace_file(settings["track_file"], TRACK_DEMOTE)
    _sd_notify("STOPPING=1")
    return 0  # a clean stop, not a failure (systemd)


def _run_again():
    """Replace this process by a new run of the same command line (new code of the check); does not return. If
    the new code fails to start, the process ends and the unit's ExecStopPost writes 1."""
    _sd_notify("RELOADING=1")
    sys.stderr.write("vip_check: SIGHUP, running again with the installed code\n")
    sys.stderr.flush()
    argv = list(getattr(sys, "orig_argv", [sys.executable] + sys.argv))
    os.execv(sys.executable, argv)
