# Run as: /usr/bin/python3 -I redis_start_guard.py ... (systemd ExecStartPre of the server; no shebang: sanity).
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start-up guard of redis-server (systemd ExecStartPre of the redis role), see docs/data-safety.md.

    redis_start_guard.py REDIS_CONFIG GUARD_CONFIG
    redis_start_guard.py --check GUARD_CONFIG      (validates a guard configuration: exit 0 or 2)

Runs before redis-server loads its data. When the configuration says this node is a master (no
`replicaof` line) and replicas of this node hold keys, starting it with a data set older than theirs
(missing append-only files, persistence off, RDB-only persistence) would make every replica resync to
it and discard its data: the guard then keeps redis-server from starting (nothing listens, so the
replicas keep their data, the Sentinels see the master down and fail over, the VIP check demotes) and
waits until a majority of the Sentinels names another master. Whenever a majority of the Sentinels
names another node, the guard starts this node directly as that node's replica.

Its decision for redis-server goes into ENV_FILE as REDIS_HA_START_ARGS (empty, or
`--replicaof HOST PORT`), which the unit's ExecStart expands. Exit 0 = start redis-server, 1 = not
now (after `timeout_s` of waiting; systemd restarts the unit and the guard runs again).

GUARD_CONFIG: key=value lines (values verbatim, '#' comment lines):
    mode            auto | always | off
    announce_host   address the Sentinels and replicas use for this node
    announce_port   its Redis port
    peers           space-separated host:port of the other nodes' Redis
    redis_user / redis_password         ACL user on the peers (ROLE/INFO/PING suffice)
    sentinels       space-separated host:port of the Sentinels
    sentinel_password                   the Sentinels' password
    master_name     Sentinel master name
    timeout_s       seconds to wait for the failover before exiting 1 (default 60)
    env_file        where REDIS_HA_START_ARGS is written (default /run/redis/redis-ha-start.env)
    tls             yes: TLS to the peers and Sentinels (default no), trusting tls_ca_file and presenting
                    tls_cert_file / tls_key_file (for tls-auth-clients)
"""

import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:  # installed next to this file by the redis role
    from redis_vip_check import addresses, client, resp, transport  # noqa: E402
except ImportError:  # the collection's tree (unit tests)
    from _vipcheck import addresses, client, resp, transport  # noqa: E402

QUERY_TIMEOUT_S = 0.5
POLL_S = 0.2
SAY_EVERY_S = 5.0
KEYS = ("mode", "announce_host", "announce_port", "peers", "redis_user", "redis_password", "sentinels",
        "sentinel_password", "master_name", "timeout_s", "env_file", "tls", "tls_ca_file", "tls_cert_file",
        "tls_key_file")
REDIS_KEYS = ("replicaof", "slaveof", "dir", "appendonly", "appendfilename", "appenddirname", "dbfilename",
              "save")


def say(text):
    sys.stderr.write("redis-start-guard: %s\n" % text)
    sys.stderr.flush()


def read_guard_config(path):
    conf = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh.read().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or key not in KEYS:
                raise ValueError("bad line in %s: %r" % (path, key))
            conf[key] = value
    conf.setdefault("mode", "auto")
    if conf["mode"] not in ("auto", "always", "off"):
        raise ValueError("mode must be auto, always or off")
    return conf


def read_redis_config(path):
    """The few directives the guard needs, last occurrence wins (as in Redis)."""
    conf = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            words = line.split(None, 1)
            if not words or words[0].lower() not in REDIS_KEYS:
                continue
            try:
                args = shlex.split(line)
            except ValueError:
                continue
            conf[args[0].lower()] = args[1:]
    return conf


def data_state(rconf):
    """("current", why) when the local data set holds every acknowledged write of this master after a
    crash of the process (append-only file present), ("behind", why) when it cannot (no append-only file:
    missing, or persistence off, or RDB snapshots only)."""
    directory = (rconf.get("dir") or ["."])[0]
    if (rconf.get("appendonly") or ["no"])[0].lower() != "yes":
        return "behind", "appendonly is off: the data set on disk is at best the last RDB snapshot"
    name = (rconf.get("appendfilename") or ["appendonly.aof"])[0]
    subdir = (rconf.get("appenddirname") or ["appendonlydir"])[0]
    manifest = os.path.join(directory, subdir, name + ".manifest")
    legacy = os.path.join(directory, name)
    for path in (manifest, legacy):
        try:
            if os.path.getsize(path) > 0:
                return "current", "append-only file %s present" % path
        except OSError:
            pass
    return "behind", "no append-only file in %s (data files missing)" % os.path.join(directory, subdir)


def split_list(text, default_port):
    return [addresses.split_hostport(item, default_port) for item in (text or "").split()]


def guard_tls(conf):
    """transport.TLS of the guard's tls* keys, or None (plaintext)."""
    if conf.get("tls", "no") != "yes":
        return None
    return transport.tls_for({"tls": {"ca_file": conf.get("tls_ca_file") or None,
                                      "cert_file": conf.get("tls_cert_file") or None,
                                      "key_file": conf.get("tls_key_file") or None}})


def ask_group(conf):
    """Asks every Sentinel and every peer at once (one deadline, QUERY_TIMEOUT_S): returns (the "host:port"
    a majority of the configured Sentinels names or None, {peer "host:port": (role, master it follows or
    None, keys) or None when it did not answer})."""
    sentinels = split_list(conf.get("sentinels"), 26379)
    peers = split_list(conf.get("peers"), 6379)
    s_auth = resp.auth_command(None, conf.get("sentinel_password") or None)
    r_auth = resp.auth_command(conf.get("redis_user") or None, conf.get("redis_password") or None)
    tls = guard_tls(conf)
    s_exs = [client.Exchange(h, p, ([s_auth] if s_auth else []) +
                             [["SENTINEL", "get-master-addr-by-name", conf.get("master_name", "")]], tls=tls)
             for h, p in sentinels]
    p_exs = [client.Exchange(h, p, ([r_auth] if r_auth else []) + [["INFO", "replication"], ["INFO", "keyspace"]],
                             tls=tls)
             for h, p in peers]
    client.run_exchanges(s_exs + p_exs, time.monotonic() + QUERY_TIMEOUT_S)
    named = []
    for ex in s_exs:
        addr = ex.replies[-1] if ex.complete else None
        if isinstance(addr, list) and len(addr) == 2:
            named.append(addresses.format_hostport(addresses.canonical_host(resp.resp_to_text(addr[0])),
                                                   int(resp.resp_to_text(addr[1]))))
    majority = next((c for c in set(named) if named.count(c) >= len(sentinels) // 2 + 1), None)
    views = {}
    for (host, port), ex in zip(peers, p_exs):
        key = addresses.format_hostport(host, port)
        rep, ks = (ex.replies[-2:] if ex.complete else (None, None))
        if not isinstance(rep, bytes) or not isinstance(ks, bytes):
            views[key] = None
            continue
        info = dict(line.split(":", 1) for line in resp.resp_to_text(rep).splitlines() if ":" in line)
        keys = sum(int(line.split("keys=", 1)[1].split(",", 1)[0])
                   for line in resp.resp_to_text(ks).splitlines() if line.startswith("db") and "keys=" in line)
        following = None
        if info.get("role") == "slave":
            following = addresses.format_hostport(addresses.canonical_host(info.get("master_host", "")),
                                                  int(info.get("master_port", "0")))
        views[key] = (info.get("role"), following, keys)
    return majority, views


def decide(conf, rconf, me):
    """One look at the group: ("start", args, why) or ("hold", None, why)."""
    majority, views = ask_group(conf)
    if majority and majority != me:
        host, port = addresses.split_hostport(majority, 6379)
        return "start", ["--replicaof", addresses.strip_brackets(host), str(port)], \
            "a majority of the Sentinels names %s: starting as its replica" % majority
    followers = ["%s (%d keys)" % (peer, view[2]) for peer, view in views.items()
                 if view is not None and view[1] == me and view[2] > 0]
    if not followers:
        return "start", [], ("no replica of this node holds keys (%d of %d peers answered)"
                             % (sum(1 for v in views.values() if v is not None), len(views)))
    state, why = data_state(rconf)
    if conf["mode"] == "auto" and state == "current":
        return "start", [], "%s; replicas %s resync from it" % (why, ", ".join(followers))
    reason = "mode always (every restart of a master is failed over)" if conf["mode"] == "always" else why
    return "hold", None, ("%s, and replicas %s would resync from it: not starting until the Sentinels have "
                          "failed over" % (reason, ", ".join(followers)))


def write_env(path, args):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("REDIS_HA_START_ARGS=%s\n" % " ".join(args))
    os.replace(tmp, path)


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":  # validation of a rendered guard configuration
        try:
            read_guard_config(argv[2])
        except (OSError, ValueError) as exc:
            say(str(exc))
            return 2
        return 0
    if len(argv) != 3:
        say("usage: %s REDIS_CONFIG GUARD_CONFIG" % argv[0])
        return 2
    try:
        conf = read_guard_config(argv[2])
        rconf = read_redis_config(argv[1])
    except (OSError, ValueError) as exc:
        say("cannot read the configuration: %s; starting without the guard" % exc)
        return 0
    env_file = conf.get("env_file") or "/run/redis/redis-ha-start.env"
    write_env(env_file, [])
    if conf["mode"] == "off":
        return 0
    if rconf.get("replicaof") or rconf.get("slaveof"):
        return 0  # a replica: it syncs from its master, its own data set does not matter
    me = addresses.format_hostport(addresses.canonical_host(conf["announce_host"]), int(conf["announce_port"]))
    start = time.monotonic()
    end = start + float(conf.get("timeout_s") or 60)
    said = None
    while True:
        verdict, args, why = decide(conf, rconf, me)
        if verdict == "start":
            write_env(env_file, args)
            say(why + ("" if said is None else " (held %.1f s)" % (time.monotonic() - start)))
            return 0
        if said is None or time.monotonic() - said >= SAY_EVERY_S:
            said = time.monotonic()
            say("%s (%.0f s)" % (why, said - start))
        if time.monotonic() >= end:
            say("no failover within %.0f s: redis-server stays down (systemd retries); to start this node "
                "anyway with its own data set set mode=off in %s" % (end - start, argv[2]))
            return 1
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
