# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher's follower: a replica re-points itself at the node the failover leader has just promoted.

With ``min-replicas-to-write`` the new master refuses writes (NOREPLICAS) until a replica replicates from it. The
failover leader re-points the other replicas only after its next INFO of the promoted node has shown role:master
(``+promoted-slave``), up to a second after it sent REPLICAOF NO ONE. The leader announces that command at once:

    +failover-state-wait-promotion  slave <ip>:<port> <ip> <port> @ <master-name> <old-ip> <old-port>

Only the elected leader of the failover runs that state machine, so the event is the leader's word. On it, the
watcher of a node whose Redis is a replica of exactly that old master, for this master name, sends
``REPLICAOF <ip> <port>`` to its local Redis once ``<ip>:<port>`` answers ROLE master (tried every
``RETRY_S`` for ``WINDOW_S``; then given up). Nothing is promoted or demoted here: the node the leader chose
promoted itself on the leader's command, and this replica only goes where the leader's own SLAVEOF would send
it (Redis answers that later SLAVEOF with "+OK Already connected to specified master").

An aborted failover (docs/failover.md, step 4): the leader aborts (``-failover-abort-slave-timeout``) when its INFO
has not shown the promotion within failover-timeout; usually the node never became master and nobody followed. A
replica that did follow is left alone by the Sentinels while the old master is down, and pointed back
(``+fix-slave-config``, no sooner than failover-timeout after its change) only once the old master is sane again.
"""

import sys
import time

from .addresses import canonical_host
from .client import Exchange, run_exchanges
from .errors import ReplyError
from .resp import auth_command
from .transport import tls_for

_monotonic = time.monotonic

EVENT = "+failover-state-wait-promotion"
WINDOW_S = 5.0      # how long after the announcement the promoted node may take to answer ROLE master
RETRY_S = 0.02      # between two tries while it does not yet
STEP_S = 0.25       # tries in a row before the watcher evaluates again (then again after the evaluation)
COMMAND_BOUND_S = 0.2  # one try (ROLE of both nodes, then REPLICAOF) that takes longer is given up


def parse_announcement(payload):
    """``slave <name> <ip> <port> @ <master-name> <old-ip> <old-port>`` -> (ip, port, master name, old ip, old
    port), or None for anything else."""
    parts = payload.split()
    if len(parts) != 8 or parts[4] != "@":
        return None
    try:
        return parts[2], int(parts[3]), parts[5], parts[6], int(parts[7])
    except ValueError:
        return None


def _same(host_a, port_a, host_b, port_b):
    return int(port_a) == int(port_b) and canonical_host(host_a) == canonical_host(host_b)


class Follow(object):
    """Follow the leader's announced promotion (see the module docstring); one per watcher."""

    def __init__(self, settings):
        self.settings = settings
        self.pending = None   # (ip, port, old ip, old port, deadline)
        self.total = 0

    def heard(self, messages):
        """Take the events the feed received: (channel, payload) text pairs."""
        s = self.settings
        for channel, payload in messages:
            if channel != EVENT:
                continue
            found = parse_announcement(payload)
            if found is None or found[2] != s["master_name"]:
                continue
            ip, port, _name, old_ip, old_port = found
            if _same(ip, port, s["announce_host"], s["announce_port"]):
                self.pending = None  # this node is the one promoted
                continue
            self.pending = (ip, port, old_ip, old_port, _monotonic() + WINDOW_S)

    def wait_s(self):
        """Seconds until the next try, or None when nothing is pending."""
        return RETRY_S if self.pending is not None else None

    def step(self, pool):
        """Tries every RETRY_S for at most STEP_S (the watcher's next evaluation waits that long at most)."""
        end = _monotonic() + STEP_S
        while self.pending is not None:
            self._try(pool)
            if self.pending is None or _monotonic() + RETRY_S > end:
                return
            time.sleep(RETRY_S)

    def _try(self, pool):
        """One try: ROLE of the local node and of the promoted one; REPLICAOF when both are as announced."""
        ip, port, old_ip, old_port, deadline = self.pending
        if _monotonic() > deadline:
            self.pending = None
            self._log("not following %s:%d: it did not answer ROLE master within %.0f s" % (ip, port, WINDOW_S))
            return
        s = self.settings
        local = self._exchange(s["redis_host"], s["redis_port"], ["ROLE"], pool)
        remote = self._exchange(ip, port, ["ROLE"], pool)
        run_exchanges([local, remote], _monotonic() + COMMAND_BOUND_S)
        mine, theirs = _role(local), _role(remote)
        if mine is None:
            return  # the local Redis did not answer: try again
        if mine[0] != b"slave" or _same(mine[1].decode("utf-8", "replace"), mine[2], ip, port):
            self.pending = None  # a master, or already replicating from the promoted node
            return
        if not _same(mine[1].decode("utf-8", "replace"), mine[2], old_ip, old_port):
            self.pending = None
            self._log("not following %s:%d: this node replicates from %s:%s, not from the old master %s:%d"
                      % (ip, port, mine[1].decode("utf-8", "replace"), mine[2], old_ip, old_port))
            return
        if theirs is None or theirs[0] != b"master":
            return  # not promoted yet (or not answering): try again until the deadline
        self._replicaof(ip, port, pool)

    def _replicaof(self, ip, port, pool):
        s = self.settings
        ex = self._exchange(s["redis_host"], s["redis_port"], ["REPLICAOF", ip, str(port)], pool)
        run_exchanges([ex], _monotonic() + COMMAND_BOUND_S)
        if not ex.complete or isinstance(ex.replies[-1], ReplyError):
            self._log("REPLICAOF %s %d failed: %s" % (ip, port, ex.error or ex.replies[-1:]))
            return  # tried again at the next step until the deadline
        self.pending = None
        self.total += 1
        self._log("following the failover leader's promotion: this replica now replicates from %s:%d" % (ip, port))

    def _exchange(self, host, port, command, pool):
        s = self.settings
        auth = auth_command(s.get("redis_user"), s.get("redis_password"))
        return Exchange(host, port, ([auth] if auth else []) + [command], tls=tls_for(s), pool=pool)

    @staticmethod
    def _log(text):
        sys.stderr.write("vip_check: %s\n" % text)
        sys.stderr.flush()


def _role(ex):
    """The ROLE reply of a complete exchange as a list, else None."""
    if not ex.complete:
        return None
    reply = ex.replies[-1]
    if not isinstance(reply, list) or not reply or any(isinstance(r, ReplyError) for r in ex.replies):
        return None
    if reply[0] == b"slave" and len(reply) < 3:
        return None
    return reply
