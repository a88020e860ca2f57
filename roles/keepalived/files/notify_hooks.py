# Run as: /usr/bin/python3 -IS notify_hooks.py CONFIG FIFO (keepalived's vrrp_notify_fifo_script; no shebang: sanity).
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's vrrp_notify_fifo_script: calls the operator's notify hooks on every VRRP state change, in order.

keepalived writes one line per event to its VRRP notify FIFO (``INSTANCE "redis_vip_51" MASTER 100``) and runs
this reader as its script user, with the FIFO as the last argument:

    python3 -IS notify_hooks.py CONFIG FIFO

For each MASTER, BACKUP, FAULT or STOP line the hooks listed in CONFIG (``hook=PATH`` lines, in that order;
``timeout_s=N``) run one after the other with keepalived's notify arguments ``INSTANCE NAME STATE PRIORITY``;
the next hook and the next event wait for the previous one (at most timeout_s each). A hook keepalived's
script security would refuse (the file or a directory above it not owned by root, or writable by group or
others) is skipped and logged. Everything is logged to syslog (journal) as redis-vip-hooks.

keepalived sends SIGTERM before its STOP events on shutdown and reload, then closes the FIFO: the reader goes
on until the end of the FIFO and exits; keepalived starts a new one after a reload.
"""

import os
import shlex
import signal
import stat
import subprocess
import sys
import syslog

STATES = ("MASTER", "BACKUP", "FAULT", "STOP")
STATE = {"terminating": False, "opening": False}


def on_sigterm(_signum, _frame):
    """Finish the events keepalived still writes (STOP after SIGTERM); leave at once while waiting for a writer."""
    STATE["terminating"] = True
    if STATE["opening"]:
        raise SystemExit(0)


def read_config(path):
    """Hooks in order and the per-hook timeout from the key=value file the role writes."""
    hooks, timeout_s = [], 30.0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, sep, value = line.strip().partition("=")
            if not sep or key.startswith("#"):
                continue
            if key == "hook":
                hooks.append(value)
            elif key == "timeout_s":
                timeout_s = float(value)
    return hooks, timeout_s


def insecure(path):
    """Why keepalived's enable_script_security would refuse this path (None when it is safe)."""
    path = os.path.abspath(path)
    while True:
        try:
            info = os.stat(path)
        except OSError as exc:
            return "%s: %s" % (path, exc.strerror)
        if info.st_uid != 0:
            return "%s is not owned by root" % path
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return "%s is writable by group or others" % path
        if path == "/":
            return None
        path = os.path.dirname(path)


def parse(line):
    """[TYPE, NAME, STATE, PRIORITY] of an instance or group state change, else None."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if len(words) != 4 or words[0] not in ("INSTANCE", "GROUP") or words[2] not in STATES:
        return None
    return words


def run_hooks(event, hooks, timeout_s):
    for hook in hooks:
        why = insecure(hook)
        if why:
            syslog.syslog(syslog.LOG_ERR, "hook %s skipped (script security): %s" % (hook, why))
            continue
        try:
            done = subprocess.run([hook] + event, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            syslog.syslog(syslog.LOG_ERR, "hook %s %s killed after %s s" % (hook, " ".join(event), timeout_s))
            continue
        except OSError as exc:
            syslog.syslog(syslog.LOG_ERR, "hook %s could not run: %s" % (hook, exc))
            continue
        level = syslog.LOG_INFO if done.returncode == 0 else syslog.LOG_ERR
        output = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        tail = (": " + output) if output else ""
        syslog.syslog(level, "hook %s %s exited %s%s" % (hook, " ".join(event), done.returncode, tail))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: notify_hooks.py CONFIG FIFO\n")
        return 2
    config, fifo = argv[1], argv[-1]
    syslog.openlog("redis-vip-hooks", syslog.LOG_PID, syslog.LOG_DAEMON)
    signal.signal(signal.SIGTERM, on_sigterm)
    while not STATE["terminating"]:
        STATE["opening"] = True
        try:
            stream = open(fifo, encoding="utf-8", errors="replace")  # waits for keepalived, the writer
        except OSError as exc:  # keepalived removed its FIFO: it has stopped or started a new reader
            syslog.syslog(syslog.LOG_INFO, "FIFO %s gone (%s): exiting" % (fifo, exc.strerror))
            return 0
        finally:
            STATE["opening"] = False
        with stream:
            for line in stream:
                event = parse(line)
                if not event:
                    continue
                try:
                    hooks, timeout_s = read_config(config)  # read per event: a changed list applies at once
                except (OSError, ValueError) as exc:
                    syslog.syslog(syslog.LOG_ERR, "%s unreadable (%s): %s not passed on" % (config, exc, line.strip()))
                    continue
                run_hooks(event, hooks, timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
