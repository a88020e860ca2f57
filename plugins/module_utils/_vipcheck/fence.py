# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher's write fence: an isolated master stops acknowledging writes within ``fence_ms`` of an evaluation.

A master cut off from the other nodes keeps acknowledging writes that the majority's new master never gets,
until its check gives up on the silent Sentinels (the budget) and the VIP leaves, and for direct clients until
``min-replicas-max-lag`` lets Redis refuse them itself (about max-lag + 1 s). The fence closes that window:
when the local Redis is master and no Sentinel of another node has answered ``fence_ms`` into an evaluation, nor
has its host shown that it is reachable (its TCP stack acknowledged the request, or refused the connection: a
Sentinel that is busy writing its config or starved of CPU is not a partition), the watcher sends
``CLIENT PAUSE <fence_hold_ms> WRITE``. Paused writes wait, they are not refused, so a
false alarm only delays them:

* the moment Sentinels of other nodes answer again and enough of them (``required``) name this node master,
  the watcher sends ``CLIENT UNPAUSE`` (a slow network, a partition that healed before any failover);
* otherwise the pause lapses after ``fence_hold_ms``, chosen longer than ``min-replicas-max-lag`` + 2 s: by
  then an isolated master refuses writes itself (NOREPLICAS), and the writes that waited get that refusal.

The fence never promotes or demotes anything (Sentinel does) and never renews itself: one pause per isolation;
it is armed again once a Sentinel of another node has answered.
"""

import sys
import time

from .addresses import canonical_host, split_hostport
from .client import Exchange, run_exchanges
from .errors import ReplyError
from .findings import ANSWERED
from .resp import auth_command
from .transport import tls_for

_monotonic = time.monotonic

COMMAND_BOUND_S = 0.1  # a local CLIENT PAUSE/UNPAUSE that takes longer is given up (the pause then lapses)


def remote_indexes(settings):
    """Indexes in ``settings["sentinels"]`` of the Sentinels on other nodes than this one (``local_sentinel``,
    or the Sentinel listening on ``announce_host``)."""
    own = settings.get("local_sentinel")
    if own:
        host, port = split_hostport(own)
        own = (canonical_host(host), int(port))
    here = canonical_host(settings["announce_host"])
    remote = []
    for i, (host, port) in enumerate(settings["sentinels"]):
        key = (canonical_host(host), int(port))
        if (own is not None and key != own) or (own is None and key[0] != here):
            remote.append(i)
    return remote


class Fence(object):
    """Pause the writes of an isolated master (see the module docstring); one per watcher."""

    def __init__(self, settings):
        self.settings = settings
        self.after_s = settings["fence_ms"] / 1000.0
        self.hold_ms = settings["fence_hold_ms"]
        self.remote = remote_indexes(settings)
        self.armed = True
        self.paused_at = None  # monotonic time of the pause still in force, else None
        self.total = 0

    @property
    def fenced(self):
        return self.paused_at is not None and _monotonic() - self.paused_at < self.hold_ms / 1000.0

    def checkpoint(self, rnd):
        """(when, fn) for run_exchanges: ``fence_ms`` after the round's start ``t0``."""
        return rnd.t0 + self.after_s, lambda: self._check(rnd)

    def _check(self, rnd):
        if not (self.armed and self.remote):
            return
        rnd.interpret()
        local = rnd.redis_ex.result
        if not (rnd.redis_ex.done and local and local["master"]):
            return
        for i in self.remote:
            ex = rnd.sent_exs[i]
            if (ex.done and ex.result and ex.result["status"] in ANSWERED) or not ex.host_unreachable():
                return
        if self._command(["CLIENT", "PAUSE", str(self.hold_ms), "WRITE"], rnd.pool):
            self.armed, self.paused_at = False, _monotonic()
            self.total += 1
            self._log("writes paused for up to %d ms: no Sentinel of another node answered within %d ms "
                      "(this master may be cut off)" % (self.hold_ms, self.settings["fence_ms"]))

    def after(self, result, pool):
        """After an evaluation: arm again once another node's Sentinel answered; lift a pause the majority
        contradicts (it names this node master again)."""
        sentinels = result.get("sentinels") or []
        if not any(i < len(sentinels) and sentinels[i]["status"] in ANSWERED for i in self.remote):
            return
        self.armed = True
        if (self.fenced and result["redis"].get("master") and result["agreeing"] >= result["required"]
                and self._command(["CLIENT", "UNPAUSE"], pool)):
            self.paused_at = None
            self._log("writes resumed: %d Sentinels name this node master again" % result["agreeing"])

    def _command(self, command, pool):
        s = self.settings
        auth = auth_command(s.get("redis_user"), s.get("redis_password"))
        ex = Exchange(s["redis_host"], s["redis_port"], ([auth] if auth else []) + [command],
                      tls=tls_for(s), pool=pool)
        run_exchanges([ex], _monotonic() + COMMAND_BOUND_S)
        refused = [r for r in ex.replies if isinstance(r, ReplyError)]
        if ex.complete and not refused:
            return True
        self._log("%s failed: %s" % (" ".join(command[:2]), ex.error or refused))
        return False

    @staticmethod
    def _log(text):
        sys.stderr.write("vip_check: %s\n" % text)
        sys.stderr.flush()
