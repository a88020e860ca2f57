"""Restarts seen from the lab (issue 29): systemd's own record of a unit's starts, stops and reloads (the journal),
a replica held in the state where the server refuses to exit (its initial AOF rewrite), and the inputs of the
roles' restart handlers changed on every node, so a site.yml run restarts what they react to.

Used by the Molecule verify tests (test_10 fresh deploy, test_30 restarts) and by tools/drill.py's
`handler-restarts` fault.
"""

from __future__ import annotations

import calendar
import time

import lab

# systemd's messages about a unit (systemd 252 and 257: "Started redis-server.service - Advanced key-value store.")
UNIT_EVENTS = ("Starting", "Started", "Stopping", "Stopped", "Reloading", "Reloaded")
KEEPALIVED_UNITS = ("keepalived", "redis-vip-watch")
# where the keepalived role installs the check's package on a node (roles/keepalived/vars/main.yml)
CHECK_PACKAGE = "/usr/local/lib/redis-vip-check/redis_vip_check"


def stack_units() -> tuple[str, ...]:
    """The lab's units: server and Sentinel of its engine, keepalived and the VIP watcher, and the server, Sentinel
    and watcher of each further group (REDIS_HA_GROUPS, docs/group-model.md)."""
    more = tuple(unit for grp in lab.groups()
                 for unit in (lab.unit("server", grp), lab.unit("sentinel", grp), "redis-vip-watch-%s" % grp))
    return (lab.units()["server"], lab.units()["sentinel"]) + KEEPALIVED_UNITS + more


def unit_events(node: str, unit: str, since: float | None = None) -> list[tuple[float, str]]:
    """(epoch seconds, event) of systemd's messages about a unit on a node, oldest first (UNIT_EVENTS only)."""
    cmd = ["exec", node, "journalctl", "--no-pager", "-o", "short-unix", "_PID=1", "UNIT=%s.service" % unit]
    if since is not None:
        cmd += ["--since", "@%d" % int(since)]
    res = lab.docker(*cmd, check=False, timeout=30)
    events = []
    for line in res.stdout.splitlines():
        words = line.split(None, 3)
        if len(words) == 4 and words[3].split(" ", 1)[0] in UNIT_EVENTS:
            events.append((float(words[0]), words[3].split(" ", 1)[0]))
    return events


def restart_windows(node: str, unit: str, since: float) -> list[tuple[float, float]]:
    """(Stopping, next Started) time pairs of a unit since an epoch time: each restart's window of absence."""
    windows, stopping = [], None
    for t, event in unit_events(node, unit, since):
        if event == "Stopping":
            stopping = t
        elif event == "Started" and stopping is not None:
            windows.append((stopping, t))
            stopping = None
    return windows


def overlapping(windows: dict[str, list[tuple[float, float]]]) -> list[tuple[str, str]]:
    """Pairs of nodes whose restart windows overlap in time (restarts that were not one node at a time)."""
    flat = sorted((a, b, node) for node, spans in windows.items() for a, b in spans)
    return [(n1, n2) for (a1, b1, n1), (a2, _b2, n2) in zip(flat, flat[1:]) if a2 < b1]


def start_slow_aof_rewrite(ip: str, keys: int = 20000, delay_us: int = 1000, timeout: float = 30.0) -> float:
    """Puts a replica in the state of a replica right after a full sync: its initial AOF rewrite running (the
    server refuses to exit then: "Writing initial AOF, can't exit"). CONFIG SET appendonly no, then yes, starts
    exactly that rewrite (the same state as after a full sync); rdb-key-save-delay (microseconds per key, copied
    into the rewriting child when it forks, then set back to 0 in the server) makes it last about keys * delay_us.
    Waits first for a background save or rewrite to end (the rewrite would be only scheduled, and fork later
    without the delay). Needs the replica to hold `keys` keys. Returns the epoch time it started."""
    cli = lab.redis_client(ip, timeout=5)
    try:
        held = cli.dbsize()
        if held < keys:
            raise RuntimeError("%s holds %d keys, fewer than %d" % (ip, held, keys))
        busy = ("rdb_bgsave_in_progress", "aof_rewrite_in_progress", "aof_rewrite_scheduled")
        _wait_persistence(cli, ip, timeout, lambda p: not any(p[k] for k in busy), "a background save to end")
        cli.config_set("rdb-key-save-delay", delay_us)
        started = time.time()
        try:
            cli.config_set("appendonly", "no")
            cli.config_set("appendonly", "yes")
            _wait_persistence(cli, ip, timeout, lambda p: p["aof_rewrite_in_progress"] == 1, "its AOF rewrite")
        finally:
            cli.config_set("rdb-key-save-delay", 0)
        return started
    finally:
        cli.close()


def _wait_persistence(cli, ip: str, timeout: float, done, what: str) -> None:
    """Polls INFO persistence until done(fields) holds; raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not done(cli.info("persistence")):
        if time.monotonic() > deadline:
            raise RuntimeError("%s: waited %.0f s for %s" % (ip, timeout, what))
        time.sleep(0.02)


def fill(master_ip: str, prefix: str, keys: int) -> None:
    """Writes `keys` small keys PREFIX:N on the master (pipelined)."""
    cli = lab.redis_client(master_ip, timeout=10)
    try:
        for start in range(0, keys, 1000):
            pipe = cli.pipeline(transaction=False)
            for n in range(start, min(start + 1000, keys)):
                pipe.set("%s:%d" % (prefix, n), "x" * 64)
            pipe.execute()
    finally:
        cli.close()


def drop(master_ip: str, prefix: str, keys: int) -> None:
    """Deletes the keys fill() wrote."""
    drop_keys(master_ip, ["%s:%d" % (prefix, n) for n in range(keys)])


def drop_keys(master_ip: str, names: list[str]) -> None:
    """Deletes keys on the master, 1000 a command."""
    cli = lab.redis_client(master_ip, timeout=10)
    try:
        for start in range(0, len(names), 1000):
            cli.delete(*names[start:start + 1000])
    finally:
        cli.close()


def missing_keys(ip: str, names: list[str]) -> list[str]:
    """The keys of `names` a node does not hold (MGET, 1000 a command; a replica answers reads too)."""
    cli = lab.redis_client(ip, timeout=10)
    try:
        missing = []
        for start in range(0, len(names), 1000):
            chunk = names[start:start + 1000]
            missing += [name for name, value in zip(chunk, cli.mget(chunk)) if value is None]
        return missing
    finally:
        cli.close()


def server_log_since(node: str, since: float) -> list[str]:
    """The server's log lines (the engine's log file) written since an epoch time, by the log's own clock."""
    path = "%s/%s.log" % (lab.units()["log_dir"], lab.units()["server"])
    res = lab.docker("exec", node, "cat", path, check=False, timeout=30)
    return [line for line in res.stdout.splitlines() if log_time(line) >= since - 1.0]


def log_time(line: str) -> float:
    """Epoch seconds of a server log line: "PID:R DD Mon YYYY HH:MM:SS.mmm ..." (UTC in the lab's containers), or a
    signal handler's "PID:signal-handler (EPOCH) ..."; 0.0 for anything else."""
    words = line.split()
    try:
        if len(words) > 1 and words[0].endswith(":signal-handler"):
            return float(words[1].strip("()"))
        if len(words) > 4:
            whole, _dot, millis = words[4].partition(".")
            stamp = time.strptime(" ".join(words[1:4] + [whole]), "%d %b %Y %H:%M:%S")
            return calendar.timegm(stamp) + float("0." + (millis or "0"))
    except ValueError:
        pass
    return 0.0


def change_handler_inputs(nodes: list[str]) -> list[str]:
    """On every node, changes what the roles' restart handlers react to, as a new release would: the Sentinel
    unit's drop-in (handler "Restart sentinel") and a file of the check's package ("Reload the watcher"). The next
    site.yml run puts both back and notifies the handlers on every node. Returns the files changed."""
    files = ["/etc/systemd/system/%s.service.d/redis-ha.conf" % lab.units()["sentinel"],
             "%s/__init__.py" % CHECK_PACKAGE]
    for node in nodes:
        for path in files:
            lab.docker("exec", node, "sh", "-c", "printf '# changed by the drill\\n' >> %s" % path, timeout=30)
    return files
