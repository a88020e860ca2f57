# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check's settings: the key=value config file, validated into the dict evaluate() uses."""

from .addresses import DEFAULT_SENTINEL_PORT, canonical_host, parse_port, split_hostport, strip_brackets
from .errors import ConfigError

DEFAULT_BUDGET_MS = 500
DEFAULT_POLL_MS = 100
DEFAULT_FENCE_HOLD_MS = 5000
DEFAULT_SYSLOG_IDENT = "redis-vip-check"

KNOWN_KEYS = (
    "redis_host", "redis_port", "redis_user", "redis_password",
    "announce_host", "announce_port", "master_name", "sentinels",
    "sentinel_user", "sentinel_password", "agreement", "budget_ms",
    "state_file", "syslog_ident", "watch_ms", "poll_ms", "track_file",
    "tls", "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name", "tls_verify_hostname",
    "fence_ms", "fence_hold_ms", "local_sentinel", "metrics_file", "vips", "follow_promotion",
)
SECRET_KEYS = ("redis_password", "sentinel_password")


def parse_config_text(text):
    """Parse the ``key=value`` format into a dict of raw string values.

    Lines whose first non-blank character is '#' and blank lines are
    ignored.  The value is everything after the first '=' up to the end of
    the line, verbatim.  Unknown or repeated keys are errors.
    """
    raw = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("line %d: expected key=value" % lineno)
        if key not in KNOWN_KEYS:
            raise ConfigError("line %d: unknown key %r" % (lineno, key[:40]))
        if key in raw:
            raise ConfigError("line %d: key %r given twice" % (lineno, key))
        raw[key] = value
    return raw


def read_config(path):
    """Read and parse a config file (see ``parse_config_text``)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(1048576)
    except OSError as exc:
        raise ConfigError("cannot read config file %s: %s" % (path, exc.strerror or exc))
    return parse_config_text(data.decode("utf-8", "surrogateescape"))


class _Raw(object):
    """The raw key->value strings of a config; empty optional values count as unset."""

    def __init__(self, raw):
        self.raw = raw

    def opt(self, key):
        value = self.raw.get(key)
        return None if value is None or value == "" else value

    def text(self, key, default=None):
        value = self.opt(key)
        return value.strip() if value is not None else default

    def required(self, key):
        value = self.text(key)
        if not value:
            raise ConfigError("missing required key %r" % key)
        return value


def _sentinels(text):
    """'host:port host:port ...' -> [(host, port)], each Sentinel once."""
    sentinels = []
    seen = set()
    for item in text.split():
        host, port = split_hostport(item, DEFAULT_SENTINEL_PORT)
        key = (canonical_host(host), port)
        if key in seen:
            raise ConfigError("sentinel %s listed twice" % item)
        seen.add(key)
        sentinels.append((host, port))
    return sentinels


def _agreement(word, n):
    """('majority'|'all'|'N', number of Sentinels) -> (agreement as written back, Sentinels required)."""
    if word == "majority":
        return word, n // 2 + 1
    if word == "all":
        return word, n
    try:
        need = int(word)
    except ValueError:
        raise ConfigError("agreement must be 'majority', 'all' or an integer")
    if not 1 <= need <= n:
        raise ConfigError("agreement %d must be between 1 and the number of sentinels (%d)" % (need, n))
    return str(need), need


def _millis(r, key, default, low):
    try:
        value = int(r.text(key, str(default)))
    except ValueError:
        raise ConfigError("%s must be an integer (milliseconds)" % key)
    if not low <= value <= 60000:
        raise ConfigError("%s must be between %d and 60000" % (key, low))
    return value


def _yes(r, key, default):
    word = (r.text(key) or default).lower()
    if word not in ("yes", "no", "true", "false"):
        raise ConfigError("%s must be yes or no" % key)
    return word in ("yes", "true")


def _tls(r):
    """None (plaintext, the default) or the TLS options of transport.TLS."""
    if not _yes(r, "tls", "no"):
        return None
    if r.opt("tls_key_file") and not r.opt("tls_cert_file"):
        raise ConfigError("tls_key_file needs tls_cert_file")
    return {"ca_file": r.text("tls_ca_file"), "cert_file": r.text("tls_cert_file"),
            "key_file": r.text("tls_key_file"), "server_name": r.text("tls_server_name"),
            "verify_hostname": _yes(r, "tls_verify_hostname", "yes")}


def build_settings(raw):
    """Validate raw key->value strings and return the settings dict used by
    ``evaluate``.  Empty optional values count as unset."""
    r = _Raw(raw)
    s = {}
    s["redis_host"] = r.text("redis_host", "127.0.0.1")
    s["redis_port"] = parse_port(r.text("redis_port", "6379"), "redis_port")
    s["redis_user"] = r.opt("redis_user")
    s["redis_password"] = r.opt("redis_password")
    s["announce_host"] = strip_brackets(r.required("announce_host"))
    ap = r.text("announce_port")
    s["announce_port"] = parse_port(ap, "announce_port") if ap else s["redis_port"]
    s["master_name"] = r.opt("master_name")
    if not s["master_name"]:
        raise ConfigError("missing required key 'master_name'")
    s["sentinels"] = _sentinels(r.required("sentinels"))
    s["sentinel_user"] = r.opt("sentinel_user")
    s["sentinel_password"] = r.opt("sentinel_password")
    s["agreement"], s["required"] = _agreement((r.text("agreement", "majority") or "majority").lower(),
                                               len(s["sentinels"]))
    s["budget_ms"] = _millis(r, "budget_ms", DEFAULT_BUDGET_MS, 10)
    s["state_file"] = r.opt("state_file")
    s["track_file"] = r.opt("track_file")
    s["watch_ms"] = _millis(r, "watch_ms", 0, 0)
    s["poll_ms"] = _millis(r, "poll_ms", DEFAULT_POLL_MS, 10)
    s["syslog_ident"] = r.text("syslog_ident") or DEFAULT_SYSLOG_IDENT
    s["tls"] = _tls(r)
    _watcher_extras(r, s)
    return s


def _watcher_extras(r, s):
    """The watcher's fence (fence.py), follower (follow.py) and metrics file (metrics.py); off unless configured."""
    s["fence_ms"] = _millis(r, "fence_ms", 0, 0)
    if s["fence_ms"] and s["fence_ms"] >= s["budget_ms"]:
        raise ConfigError("fence_ms must be shorter than budget_ms (or 0: no fence)")
    s["fence_hold_ms"] = _millis(r, "fence_hold_ms", DEFAULT_FENCE_HOLD_MS, 100)
    own = r.text("local_sentinel")
    s["local_sentinel"] = own
    if own:
        split_hostport(own, DEFAULT_SENTINEL_PORT)
    s["follow_promotion"] = _yes(r, "follow_promotion", "no")
    s["metrics_file"] = r.opt("metrics_file")
    s["vips"] = [strip_brackets(v.split("/", 1)[0]) for v in (r.text("vips") or "").split()]


def load_settings(path=None, overrides=None):
    """Settings from a config file and/or a dict of overrides (override wins)."""
    raw = read_config(path) if path else {}
    if overrides:
        for key, value in overrides.items():
            if key not in KNOWN_KEYS:
                raise ConfigError("unknown key %r" % key)
            if value is not None:
                raw[key] = value if isinstance(value, str) else str(value)
    return build_settings(raw)
