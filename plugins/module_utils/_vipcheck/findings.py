# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the answers of the local Redis and of each Sentinel say (one result dict per exchange)."""

import errno

from .addresses import canonical_host, format_hostport
from .errors import ReplyError
from .settings import SECRET_KEYS


def redact(text, settings):
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


def interpret_redis(ex, auth):
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


def interpret_sentinel(ex, auth, want_host, want_port):
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


def promoted_replica(reply):
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
