#!/usr/bin/env python3
"""CPU cost of one run of the VIP track script, compared with the common bash recipe and a bare interpreter.

Starts a real redis-server (ACL check user, requirepass) and three redis-sentinel processes on
127.0.0.1 (free ports, temporary directory), then runs each variant N times, interleaved, and reports
CPU time (user+sys of the child and everything it waited for, from os.wait4) and wall time:

  (a) our check compiled on every run: the launcher roles/keepalived/files/vip_check.py importing
      the package redis_vip_check/ (= plugins/module_utils/_vipcheck/) with no byte-compiled cache (-B)
  (b) bash recipe:    bash -c 'redis-cli -h H -p P --user U info replication | grep -q role:master'
                      (password in REDISCLI_AUTH, not -a); asks Redis only, not Sentinel
  (c) bare python:    /usr/bin/python3 -I -S -c pass
  (d) our check as the keepalived role deploys it: the launcher roles/keepalived/files/vip_check.py
      importing redis_vip_check/ (= _vipcheck/) from its byte-compiled __pycache__ copies
      (--no-pyc to leave it out)

Not a test: it prints figures. Usage:  python3 tools/bench_check_cpu.py [--runs 200]
Everything it starts is stopped at the end (also on Ctrl-C).
"""

import argparse
import os
import pathlib
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECK = ROOT / "plugins" / "module_utils" / "_vipcheck"
LAUNCHER = ROOT / "roles" / "keepalived" / "files" / "vip_check.py"
ADMIN_PW = "bench-admin-pw"
CHECK_USER, CHECK_PW = "vipcheck", "bench-check-pw"
SENTINEL_PW = "bench-sentinel-pw"


def deploy(directory):
    """The check as the keepalived role installs it (launcher + redis_vip_check/); the launcher's path."""
    (directory / "redis_vip_check").mkdir(parents=True)
    for src in CHECK.glob("*.py"):
        shutil.copy(src, directory / "redis_vip_check" / src.name)
    shutil.copy(LAUNCHER, directory / "vip_check.py")
    return directory / "vip_check.py"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listens on 127.0.0.1:%d" % port)


def start(binary, conf_path, lines, procs):
    conf_path.write_text("\n".join(lines) + "\n")
    procs.append(subprocess.Popen([binary, str(conf_path)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def run_once(argv, env):
    t0 = time.monotonic()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.monotonic() - t0) * 1000
    return (ru.ru_utime + ru.ru_stime) * 1000, wall, os.waitstatus_to_exitcode(status)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="runs per variant (default 200)")
    ap.add_argument("--python", default="/usr/bin/python3", help="node interpreter (default /usr/bin/python3)")
    ap.add_argument("--no-pyc", action="store_true", help="skip variant (d)")
    args = ap.parse_args()
    redis_server = shutil.which("redis-server")
    redis_sentinel = shutil.which("redis-sentinel")
    redis_cli = shutil.which("redis-cli")
    bash = shutil.which("bash")
    if not all((redis_server, redis_sentinel, redis_cli, bash)) or not os.path.exists(args.python):
        sys.exit("needs redis-server, redis-sentinel, redis-cli, bash and %s" % args.python)

    procs = []
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-vip-check-"))
    try:
        rport = free_port()
        start(redis_server, tmp / "redis.conf", [
            "port %d" % rport, "bind 127.0.0.1", "dir %s" % tmp, "save \"\"", "appendonly no",
            "logfile %s" % (tmp / "redis.log"),
            "user default on >%s ~* &* +@all" % ADMIN_PW,
            "user %s on >%s -@all +role +ping +info" % (CHECK_USER, CHECK_PW),
        ], procs)
        wait_port(rport)
        sports = []
        for i in range(3):
            sport = free_port()
            sports.append(sport)
            start(redis_sentinel, tmp / ("sentinel%d.conf" % i), [
                "port %d" % sport, "bind 127.0.0.1", "dir %s" % tmp, "logfile %s" % (tmp / ("s%d.log" % i)),
                "requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
                "sentinel monitor mymaster 127.0.0.1 %d 2" % rport,
                "sentinel auth-pass mymaster %s" % ADMIN_PW,
                "sentinel down-after-milliseconds mymaster 600000",
            ], procs)
        for sport in sports:
            wait_port(sport)
        cfg = tmp / "check.conf"
        cfg.write_text("\n".join([
            "redis_host=127.0.0.1", "redis_port=%d" % rport, "redis_user=%s" % CHECK_USER,
            "redis_password=%s" % CHECK_PW, "announce_host=127.0.0.1", "master_name=mymaster",
            "sentinels=%s" % " ".join("127.0.0.1:%d" % p for p in sports),
            "sentinel_password=%s" % SENTINEL_PW, "agreement=majority", "budget_ms=500",
            "state_file=%s" % (tmp / "verdict"),
        ]) + "\n")
        os.chmod(cfg, 0o640)

        env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        env_cli = dict(env, REDISCLI_AUTH=CHECK_PW)
        variants = [
            ("(a) launcher, no cache", [args.python, "-B", "-IS", str(deploy(tmp / "source")), str(cfg)], env),
            ("(b) bash+redis-cli", [bash, "-c", "%s -h 127.0.0.1 -p %d --user %s info replication | grep -q role:master"
                                    % (redis_cli, rport, CHECK_USER)], env_cli),
            ("(c) python3 -I -S pass", [args.python, "-I", "-S", "-c", "pass"], env),
        ]
        if not args.no_pyc:
            launcher = deploy(tmp / "deployed")
            subprocess.run([args.python, "-m", "compileall", "-q", str(launcher.parent / "redis_vip_check")], check=True)
            variants.append(("(d) launcher + cache", [args.python, "-IS", str(launcher), str(cfg)], env))

        # Warm-up, and make sure every variant gives the promote answer (exit 0) before measuring.
        for name, argv, venv in variants:
            for _ in range(10):
                _, _, code = run_once(argv, venv)
            if code != 0:
                sys.exit("%s exits %d, expected 0 (promote) - setup problem" % (name, code))

        results = {name: ([], []) for name, _, _ in variants}
        bad = {name: 0 for name, _, _ in variants}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        step = max(1, args.runs // 10)
        for i in range(args.runs):
            for name, argv, venv in variants:  # interleaved: drift hits every variant alike
                cpu, wall, code = run_once(argv, venv)
                results[name][0].append(cpu)
                results[name][1].append(wall)
                bad[name] += code != 0
            if (i + 1) % step == 0 or i + 1 == args.runs:
                print("  %d/%d runs per variant" % (i + 1, args.runs), file=sys.stderr, flush=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)

        print("\nCPU (user+sys) and wall time per run, %d runs per variant, %s, %s" % (
            args.runs, os.uname().machine, subprocess.run([args.python, "-V"], capture_output=True,
                                                          text=True).stdout.strip()))
        header = ("variant", "cpu med", "cpu p90", "cpu max", "wall med", "wall p90", "wall max", "non-zero exits")
        print("%-24s %8s %8s %8s   %8s %8s %8s  %s" % header)
        for name, _, _ in variants:
            cpu, wall = results[name]
            print("%-24s %6.1fms %6.1fms %6.1fms   %6.1fms %6.1fms %6.1fms  %d" % (
                name, statistics.median(cpu), pct(cpu, 0.9), max(cpu),
                statistics.median(wall), pct(wall, 0.9), max(wall), bad[name]))
        total = sum(sum(results[n][0]) for n in results)
        rusage_total = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
        print("(cross-check: per-run CPU sums to %.0f ms, RUSAGE_CHILDREN grew by %.0f ms)" % (total, rusage_total))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
