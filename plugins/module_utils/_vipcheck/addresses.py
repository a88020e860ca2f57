# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host:port parsing, resolution and the canonical form used to compare addresses."""

import _socket

from .errors import ConfigError

DEFAULT_SENTINEL_PORT = 26379


def strip_brackets(host):
    if host[:1] == "[" and host[-1:] == "]":
        return host[1:-1]
    return host


def resolve(host, port):
    """[(family, sockaddr)] for host; IP literals never touch the resolver."""
    h = strip_brackets(host)
    try:
        _socket.inet_pton(_socket.AF_INET, h)
        return [(_socket.AF_INET, (h, port))]
    except (OSError, ValueError):
        pass
    try:
        _socket.inet_pton(_socket.AF_INET6, h)
        return [(_socket.AF_INET6, (h, port, 0, 0))]
    except (OSError, ValueError):
        pass
    infos = _socket.getaddrinfo(h, port, _socket.AF_UNSPEC, _socket.SOCK_STREAM)
    return [(info[0], info[4]) for info in infos]


def canonical_host(host):
    """Canonical form for comparing addresses: IP literals normalised
    (IPv6 compressed lower-case, IPv4-mapped IPv6 -> IPv4), hostnames
    lower-cased without a trailing dot."""
    h = strip_brackets(host.strip())
    for fam in (_socket.AF_INET, _socket.AF_INET6):
        try:
            packed = _socket.inet_pton(fam, h)
        except (OSError, ValueError):
            continue
        if fam == _socket.AF_INET6 and packed[:12] == b"\0" * 10 + b"\xff\xff":
            return _socket.inet_ntop(_socket.AF_INET, packed[12:])
        return _socket.inet_ntop(fam, packed)
    h = h.lower()
    if h.endswith(".") and len(h) > 1:
        h = h[:-1]
    return h


def format_hostport(host, port):
    h = strip_brackets(host)
    if ":" in h:
        return "[%s]:%s" % (h, port)
    return "%s:%s" % (h, port)


def parse_port(text, what):
    try:
        port = int(text)
    except ValueError:
        raise ConfigError("%s: port %r is not an integer" % (what, text))
    if not 0 < port < 65536:
        raise ConfigError("%s: port %d out of range" % (what, port))
    return port


def split_hostport(item, default_port=DEFAULT_SENTINEL_PORT):
    """'host:port', '[v6]:port', 'host' or '[v6]' -> (host, port)."""
    if item.startswith("["):
        close = item.find("]")
        if close < 0:
            raise ConfigError("address %r: missing ']'" % item)
        host, rest = item[1:close], item[close + 1:]
        if rest == "":
            return host, default_port
        if not rest.startswith(":"):
            raise ConfigError("address %r: expected ':port' after ']'" % item)
        return host, parse_port(rest[1:], "address %r" % item)
    if item.count(":") > 1:
        raise ConfigError("address %r: write IPv6 addresses in brackets, e.g. [::1]:26379" % item)
    if ":" in item:
        host, port = item.split(":", 1)
        if not host:
            raise ConfigError("address %r: empty host" % item)
        return host, parse_port(port, "address %r" % item)
    return item, default_port
