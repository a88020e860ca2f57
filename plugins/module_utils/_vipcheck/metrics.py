# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher's metrics: a Prometheus textfile for node_exporter's textfile collector (``metrics_file``).

Why a textfile and not an HTTP endpoint: the watcher stays one single-threaded loop with no listening socket
(nothing new to secure or to block the verdict), node_exporter already runs where metrics are wanted and
reports the file's age (``node_textfile_mtime_seconds``), which tells a dead watcher from a quiet one.
The file is replaced atomically when a value other than the evaluation time changes, and at least once a second.
"""

import time

from .state import replace_file
from .verdict import DEMOTE

REASONS = ("master_confirmed", "promoted_by_leader", "deposed", "not_master", "sentinels_disagree",
           "sentinels_unreachable", "redis_unreachable", "internal_error")
REFRESH_S = 1.0
HELD_TTL_S = 0.5  # the VIPs this host carries are read from /proc at most this often


def reason_label(result):
    """The closed-set reason of a verdict (the label of redis_ha_check_reason)."""
    redis = result.get("redis")
    if redis is None:
        return "internal_error"
    sentinels = ("sentinels_unreachable" if result.get("answered", 0) < result.get("required", 1)
                 else "sentinels_disagree")
    if redis.get("status") == "not_checked":
        # the Sentinels' answers alone decided: enough of them name another node (not_master, as when the local
        # server answers first as a replica: the label must not depend on which answer came first), or too few
        # answered
        return "not_master" if sentinels == "sentinels_disagree" else sentinels
    if redis.get("status") != "ok":
        return "redis_unreachable"
    if not redis.get("master"):
        return "not_master"
    if result.get("deposed_by"):
        return "deposed"
    if result.get("promote"):
        return "promoted_by_leader" if result.get("promoted_by") else "master_confirmed"
    return sentinels


def local_addresses():
    """The IPv4 and IPv6 addresses configured on this host (/proc: standard library only)."""
    found = set()
    try:
        with open("/proc/net/fib_trie") as fh:
            last = None
            for line in fh:
                text = line.strip()
                if text.startswith("|--"):
                    last = text[3:].strip()
                elif text.startswith("/32 host LOCAL") and last:
                    found.add(last)
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6") as fh:
            for line in fh:
                raw = line.split()[0]
                found.add(":".join(raw[i:i + 4] for i in range(0, 32, 4)))
    except OSError:
        pass
    return found


def _v6_full(address):
    """An IPv6 address written out in full lower-case groups (the form of /proc/net/if_inet6)."""
    import socket
    return ":".join("%04x" % (b1 << 8 | b2) for b1, b2 in zip(*[iter(socket.inet_pton(socket.AF_INET6, address))] * 2))


def vips_held(vips, addresses=None):
    """{vip: True/False} for the configured VIPs."""
    here = local_addresses() if addresses is None else addresses
    held = {}
    for vip in vips:
        try:
            key = _v6_full(vip) if ":" in vip else vip
        except OSError:
            key = vip
        held[vip] = key in here
    return held


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(settings, result, fence, feed, last_change, held):
    """The textfile's content (without the evaluation time, which render_time adds)."""
    name = 'master_name="%s"' % _escape(settings["master_name"])
    lines = []

    def metric(metric_name, kind, text, samples):
        lines.append("# HELP %s %s" % (metric_name, text))
        lines.append("# TYPE %s %s" % (metric_name, kind))
        for labels, value in samples:
            lines.append("%s{%s} %s" % (metric_name, ",".join([name] + labels), value))

    metric("redis_ha_check_verdict", "gauge", "1 when this node should hold the VIP (promote), 0 when not.",
           [([], 0 if result["verdict"] == DEMOTE else 1)])
    metric("redis_ha_check_reason", "gauge", "The reason of the current verdict (closed set), always 1.",
           [(['reason="%s"' % reason_label(result)], 1)])
    metric("redis_ha_check_sentinels", "gauge", "Sentinels configured, answering, naming this node, required.",
           [(['state="%s"' % k], result.get(v, 0)) for k, v in
            (("configured", "configured"), ("answered", "answered"), ("agreeing", "agreeing"),
             ("required", "required"))])
    metric("redis_ha_check_vip_held", "gauge", "1 when this node carries the VIP.",
           [(['vip="%s"' % _escape(v)], int(h)) for v, h in sorted(held.items())])
    metric("redis_ha_check_last_change_timestamp_seconds", "gauge", "Unix time of the last verdict change.",
           [([], "%.3f" % last_change)])
    up = sum(1 for sub in feed.subs if sub.state == "reading") if feed is not None else 0
    down = len(feed.subs) - up if feed is not None else 0
    metric("redis_ha_check_event_subscriptions", "gauge", "The watcher's Sentinel event subscriptions.",
           [(['state="up"'], up), (['state="down"'], down)])
    metric("redis_ha_check_fenced", "gauge", "1 while writes are paused on this isolated master (the fence).",
           [([], int(bool(fence is not None and fence.fenced)))])
    metric("redis_ha_check_fences_total", "counter", "Write pauses of the fence since the watcher started.",
           [([], fence.total if fence is not None else 0)])
    return lines


class Metrics(object):
    """Writes ``settings["metrics_file"]`` after evaluations (see the module docstring)."""

    def __init__(self, settings):
        self.settings = settings
        self.last_lines, self.last_write, self.verdict = None, 0.0, None
        self.last_change = time.time()
        self.held, self.held_at = {}, None

    def _held(self, now):
        if self.held_at is None or now - self.held_at >= HELD_TTL_S:
            self.held, self.held_at = vips_held(self.settings.get("vips") or []), now
        return self.held

    def update(self, result, elapsed_s, fence=None, feed=None):
        """Write the file when due: None when written, the error text when not, False when not due."""
        if result["verdict"] != self.verdict:
            self.verdict, self.last_change = result["verdict"], time.time()
        now = time.monotonic()
        lines = render(self.settings, result, fence, feed, self.last_change, self._held(now))
        if lines == self.last_lines and now - self.last_write < REFRESH_S:
            return False  # nothing written: no news
        name = 'master_name="%s"' % _escape(self.settings["master_name"])
        text = "\n".join(lines + [
            "# HELP redis_ha_check_evaluation_seconds Duration of the last evaluation.",
            "# TYPE redis_ha_check_evaluation_seconds gauge",
            "redis_ha_check_evaluation_seconds{%s} %.4f" % (name, elapsed_s), ""])
        problem = replace_file(self.settings["metrics_file"], text.encode("utf-8"), mode=0o644)
        self.last_lines, self.last_write = lines, now
        return problem
