#!/usr/bin/env python3
"""CPU of the VIP watcher (`vip_check.py --watch`, the keepalived role's redis-vip-watch) in plaintext and
over TLS, against one real redis-server and five real redis-sentinel processes on 127.0.0.1.

Every server listens on a plaintext port AND a TLS port (`tls-auth-clients yes`, certificates from a private
CA made with the openssl CLI, as in tests/functional/tls_helpers.py); the Sentinels monitor the Redis over TLS
(`tls-replication yes`). The watcher runs as deployed (launcher + byte-compiled package, `python3 -IS`),
poll_ms 100, budget_ms 2000, for --seconds, then gets SIGTERM; its CPU (user+sys, os.wait4) is recorded.
Plaintext and TLS runs alternate, --runs of each. Prints the median and max CPU per mode and their ratio.
With --no-pool two more modes run the same watcher with its connection pool disabled (patched in this
script only: a new connection, and TLS handshake, to every server at every poll, as before the pool), to
show what it saves.

Usage:  python3 tools/bench_watcher_tls.py [--runs 5] [--seconds 20]
Everything it starts is stopped at the end.
"""

import argparse
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "functional"))

from tls_helpers import call, make_pki  # noqa: E402
from vipcheck_helpers import (ADMIN_PW, CHECK_PW, CHECK_SCRIPT, CHECK_USER, NODE_PYTHON, SENTINEL_PW,  # noqa: E402
                              Proc, free_port, write_cfg)


def tls_both(pki, port, tls_port):
    return ["port %d" % port, "tls-port %d" % tls_port, "tls-cert-file %s" % pki["server_cert"],
            "tls-key-file %s" % pki["server_key"], "tls-ca-cert-file %s" % pki["ca"], "tls-auth-clients yes",
            "tls-replication yes"]


def wait_tls(pki, proc, port, password):
    end = time.monotonic() + 15
    while True:
        try:
            if call(pki, port, "PING", password=password) == b"PONG":
                return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError("%s not ready: %s" % (proc.kind, proc.tail()))
        time.sleep(0.05)


def start(pki, base, n_sentinels):
    procs = []
    rport, rtls = free_port(), free_port()
    redis = Proc("redis", rport, base / "redis", ["requirepass %s" % ADMIN_PW] + tls_both(pki, rport, rtls))
    procs.append(redis)
    wait_tls(pki, redis, rtls, ADMIN_PW)
    call(pki, rtls, "ACL", "SETUSER", CHECK_USER, "reset", "on", ">" + CHECK_PW, "-@all", "+role", "+ping", "+info")
    sentinels = []
    for i in range(n_sentinels):
        port, tls_port = free_port(), free_port()
        lines = ["requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
                 "sentinel monitor mymaster 127.0.0.1 %d %d" % (rtls, n_sentinels // 2 + 1),
                 "sentinel auth-pass mymaster %s" % ADMIN_PW] + tls_both(pki, port, tls_port)
        s = Proc("sentinel", port, base / ("sentinel%d" % i), lines)
        procs.append(s)
        sentinels.append((port, tls_port))
    for s, (_port, tls_port) in zip(procs[1:], sentinels):
        wait_tls(pki, s, tls_port, SENTINEL_PW)
    return procs, (rport, rtls), sentinels


def config(path, pki, redis_port, announce_port, sentinel_ports, track, tls):
    keys = dict(redis_host="127.0.0.1", redis_port=redis_port, redis_user=CHECK_USER, redis_password=CHECK_PW,
                announce_host="127.0.0.1", announce_port=announce_port, master_name="mymaster",
                sentinels=" ".join("127.0.0.1:%d" % p for p in sentinel_ports), sentinel_password=SENTINEL_PW,
                track_file=str(track), poll_ms=100,
                budget_ms=2000)  # room for the no-pool handshakes on a loaded machine; no CPU cost when answered
    if tls:
        keys.update(tls="yes", tls_ca_file=pki["ca"], tls_cert_file=pki["client_cert"],
                    tls_key_file=pki["client_key"])
    return write_cfg(path, **keys)


# The watcher with a pool that keeps nothing (the --no-pool mode).
NO_POOL = ("import sys; sys.path.insert(0, sys.argv[1]); from redis_vip_check import cli, watcher; "
           "watcher.Pool = type('NoPool', (), {'take': lambda s, h, p: None, 'give': lambda s, h, p, c: c.close(), "
           "'close': lambda s: None}); sys.exit(cli.main(['--watch', sys.argv[2]]))")


def run_watcher(cfg, track, seconds, pool=True):
    """CPU seconds (user+sys) of one watcher run of `seconds`; checks it held the VIP (track file 0)."""
    argv = ([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), "--watch", str(cfg)] if pool else
            [NODE_PYTHON, "-IS", "-c", NO_POOL, str(CHECK_SCRIPT.parent), str(cfg)])
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(seconds)
    verdict = track.read_bytes() if track.exists() else b"?"
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if verdict != b"0\n" or proc.returncode != 0:
        raise RuntimeError("watcher did not hold the VIP (track %r, exit %s): %s"
                           % (verdict, proc.returncode, proc.stderr.read()[-500:]))
    return usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--sentinels", type=int, default=5)
    ap.add_argument("--no-pool", action="store_true", help="also run TLS without the connection pool")
    args = ap.parse_args()
    base = pathlib.Path(tempfile.mkdtemp(prefix="bench-watcher-tls-"))
    pki = make_pki(base / "pki")
    procs, (rport, rtls), sentinels = start(pki, base, args.sentinels)
    try:
        track = base / "track"
        cfgs = {"plaintext": config(base / "plain.conf", pki, rport, rtls, [p for p, _ in sentinels], track, False),
                "tls": config(base / "tls.conf", pki, rtls, rtls, [t for _, t in sentinels], track, True)}
        cfgs["plaintext-no-pool"], cfgs["tls-no-pool"] = cfgs["plaintext"], cfgs["tls"]
        cpu = {"plaintext": [], "tls": []}
        if args.no_pool:
            cpu.update({"plaintext-no-pool": [], "tls-no-pool": []})
        for i in range(args.runs):
            for mode in cpu:
                cpu[mode].append(run_watcher(cfgs[mode], track, args.seconds, pool="no-pool" not in mode))
                print("run %d %-17s CPU %.3f s in %.0f s" % (i + 1, mode, cpu[mode][-1], args.seconds), flush=True)
        for mode, values in cpu.items():
            print("%-17s CPU per minute: median %.2f s, max %.2f s (%d runs of %.0f s; %.1f %% of one core)"
                  % (mode, statistics.median(values) * 60 / args.seconds, max(values) * 60 / args.seconds,
                     len(values), args.seconds, 100 * statistics.median(values) / args.seconds))
        print("TLS / plaintext: median %.2f, max %.2f"
              % (statistics.median(cpu["tls"]) / statistics.median(cpu["plaintext"]),
                 max(cpu["tls"]) / max(cpu["plaintext"])))
    finally:
        for p in procs:
            p.terminate()


if __name__ == "__main__":
    main()
