# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict: ask the local Redis and every Sentinel at once, decide whether this node holds the VIP.

evaluate() runs one Round: the questions (local ROLE, each Sentinel's master address and failover state)
go out concurrently; the round stops as soon as the verdict cannot change any more (decided); a failover
leader is then asked which replica it promoted (promoter); reason() writes the one-line explanation.
"""

import time

from .addresses import canonical_host, format_hostport
from .client import Exchange, run_exchanges
from .findings import ANSWERED, interpret_redis, interpret_sentinel, promoted_replica, redact
from .resp import auth_command
from .transport import tls_for

_monotonic = time.monotonic

PROMOTE = "promote"
DEMOTE = "demote"


class Round(object):
    """One evaluation: the exchanges with the local Redis and the Sentinels, and what they said."""

    def __init__(self, settings, pool=None):
        self.settings = settings
        self.tls, self.pool = tls_for(settings), pool
        self.want_host = canonical_host(settings["announce_host"])
        self.want_port = settings["announce_port"]
        self.required = settings["required"]
        self.r_auth = auth_command(settings.get("redis_user"), settings.get("redis_password"))
        self.redis_ex = self.exchange(settings["redis_host"], settings["redis_port"],
                                      ([self.r_auth] if self.r_auth else []) + [["ROLE"]])
        self.s_auth = auth_command(settings.get("sentinel_user"), settings.get("sentinel_password"))
        s_cmds = ([self.s_auth] if self.s_auth else []) + [
            ["SENTINEL", "get-master-addr-by-name", settings["master_name"]],
            ["SENTINEL", "MASTER", settings["master_name"]]]
        self.sent_exs = [self.exchange(h, p, s_cmds) for h, p in settings["sentinels"]]

    def exchange(self, host, port, commands):
        return Exchange(host, port, commands, tls=self.tls, pool=self.pool)

    def interpret(self):
        """Interpret the answers received so far; (Sentinels agreeing, Sentinels not done)."""
        if self.redis_ex.done and self.redis_ex.result is None:
            interpret_redis(self.redis_ex, self.r_auth)
        agree = pending = 0
        for ex in self.sent_exs:
            if ex.done:
                if ex.result is None:
                    interpret_sentinel(ex, self.s_auth, self.want_host, self.want_port)
                if ex.result["agrees"]:
                    agree += 1
            else:
                pending += 1
        return agree, pending

    def decided(self):
        """True when the answers still missing cannot change the verdict."""
        agree, pending = self.interpret()
        if self.redis_ex.done and not self.redis_ex.result["master"]:
            return True
        if agree + pending < self.required and (self.redis_ex.done or (pending == 0 and not self._leader_answered())):
            # Without the local ROLE, only every Sentinel's answer without a failover leader among them decides:
            # a Sentinel still missing may be the leader that promoted us (then the local ROLE decides: promoter).
            return True
        if not self.redis_ex.done:
            return False
        if agree >= self.required:
            return True
        # A failover leader among the answers decides (see promoter) without the missing answers, so a
        # dead Sentinel's timeout does not eat the budget of the SENTINEL REPLICAS question.
        answers = [ex.result for ex in self.sent_exs if ex.done]
        return (sum(1 for r in answers if r["status"] in ANSWERED) >= self.required
                and any(r["failover"] for r in answers))

    def _leader_answered(self):
        """Whether a Sentinel failing over our master (not this node) has answered: it may have promoted us."""
        return any(ex.done and ex.result and ex.result["failover"] and not ex.result["failover"]["deposing_me"]
                   for ex in self.sent_exs)

    def results(self):
        """(local Redis result, [Sentinel results]), "not_checked" for the answers not awaited."""
        ex = self.redis_ex
        redis = ex.result or {"address": format_hostport(ex.host, ex.port),
                              "status": "not_checked", "role": None, "master": False}
        sentinels = [ex.result or {"address": format_hostport(ex.host, ex.port), "status": "not_checked",
                                   "agrees": False, "failover": None, "master": None}
                     for ex in self.sent_exs]
        return redis, sentinels

    def promoter(self, deadline):
        """The result of a failover leader that promoted this node (SENTINEL REPLICAS), or None.

        Once a Sentinel failing over our master has sent SLAVEOF NO ONE to the replica it chose, that
        replica may take the VIP as soon as it reports role:master -- the leader was elected by a
        majority for this epoch -- instead of waiting up to a second for the leader's next INFO."""
        leaders = [ex for ex in self.sent_exs
                   if ex.result and ex.result.get("failover") and not ex.result["failover"]["deposing_me"]]
        if not leaders or _monotonic() >= deadline:
            return None
        replicas = [self.exchange(ex.host, ex.port, ([self.s_auth] if self.s_auth else []) +
                                  [["SENTINEL", "REPLICAS", self.settings["master_name"]]]) for ex in leaders]
        run_exchanges(replicas, deadline)
        found = None
        for ex, rex in zip(leaders, replicas):
            chosen = promoted_replica(rex.replies[-1]) if rex.complete else None
            if chosen:
                ex.result["failover"]["promoted"] = format_hostport(*chosen)
                if chosen[1] == self.want_port and canonical_host(chosen[0]) == self.want_host:
                    found = found or ex.result
        return found


def evaluate(settings, complete=False, start=None, pool=None, fence=None):
    """Decide whether this node should hold the VIP.

    Returns a dict: ``promote`` (bool), ``verdict`` ('promote'|'demote'),
    ``reason`` (one line, no secrets), ``redis`` (local findings),
    ``sentinels`` (one dict per configured Sentinel), ``agreeing``,
    ``required``, ``configured``, ``answered``, ``elapsed_ms``.

    With ``complete=False`` (the track script) it stops as soon as the
    verdict cannot change any more; with ``complete=True`` (the Ansible
    module) it waits for every answer within the budget, for reporting.
    The verdict is the same either way. With a ``pool`` (transport.Pool, the
    watcher) the connections stay open for the next evaluation. A ``fence``
    (fence.Fence, the watcher) looks at the round ``fence_ms`` after its start.
    """
    t0 = _monotonic() if start is None else start
    deadline = t0 + settings["budget_ms"] / 1000.0
    rnd = Round(settings, pool)
    rnd.t0 = t0
    run_exchanges([rnd.redis_ex] + rnd.sent_exs, deadline, None if complete else rnd.decided,
                  fence.checkpoint(rnd) if fence is not None else None)
    agree, _pending = rnd.interpret()
    redis, sentinels = rnd.results()
    required = rnd.required
    answered = sum(1 for s in sentinels if s["status"] in ANSWERED)
    # A Sentinel that is failing over our master: once it has sent SLAVEOF NO ONE to the replica it
    # chose, the old master is deposed (drop the VIP now, not when the majority's answer changes).
    deposers = [s for s in sentinels if s.get("failover") and s["failover"]["deposing_me"]]
    promoter = None
    if redis["master"] and not deposers and agree < required and answered >= required:
        promoter = rnd.promoter(deadline)
    promote = bool(redis["master"]) and not deposers and (agree >= required or promoter is not None)
    me = format_hostport(rnd.want_host, rnd.want_port)
    reason = redact(reason_line(settings, redis, sentinels, agree, me, deposers, promoter), settings)
    for item in [redis] + sentinels:
        if item.get("error"):
            item["error"] = redact(item["error"], settings)
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
        "configured": len(sentinels),
        "answered": answered,
        "agreement": settings["agreement"],
        "master_name": settings["master_name"],
        "announce": me,
        "elapsed_ms": round((_monotonic() - t0) * 1000, 1),
    }


def _local_line(redis):
    if redis["status"] == "ok":
        if redis["master"]:
            return "local redis %s is master" % redis["address"]
        local = "local redis %s is %s" % (redis["address"], redis["role"])
        if redis.get("master_address"):
            local += " of %s (link %s)" % (redis["master_address"], redis.get("link_status"))
        return local
    if redis["status"] == "not_checked":
        return "local redis %s not awaited" % redis["address"]
    return "local redis %s: %s" % (redis["address"], redis.get("error"))


def reason_line(settings, redis, sentinels, agree, me, deposers, promoter):
    """The one-line reason of a verdict (not yet redacted)."""
    local = _local_line(redis)
    details = []
    for s in sentinels:
        if s["status"] == "agree":
            continue
        if s["status"] == "other_master":
            details.append("%s names %s" % (s["address"], s["master"]))
        elif s["status"] != "not_checked":
            details.append("%s %s" % (s["address"], s.get("error") or s["status"]))
    n = len(sentinels)
    sent = "%d/%d sentinels name %s master of %r (%d required)" % (
        agree, n, me, settings["master_name"], settings["required"])
    if details:
        sent += ": " + ", ".join(details)
    if deposers:
        sent += "; %s is failing over this master (%s)" % (
            deposers[0]["address"], deposers[0]["failover"]["state"])
    elif promoter is not None:
        sent += "; %s promoted %s (%s)" % (promoter["address"], me, promoter["failover"]["state"])
    skipped = sum(1 for s in sentinels if s["status"] == "not_checked")
    if skipped == n and not redis["master"] and redis["status"] != "not_checked":
        return local  # decided by the local role alone; sentinels not awaited
    if skipped:
        sent += " (%d not awaited: verdict already certain)" % skipped
    return "%s; %s" % (local, sent)
