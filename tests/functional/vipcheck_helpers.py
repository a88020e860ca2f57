"""Helpers for the VIP check tests: REAL redis-server / redis-sentinel processes on loopback.

Session-scoped "cluster" (started once, ~1 s):
  * master M and its replica R, plus a standalone master S (a "stale" master no Sentinel names),
    all with `requirepass` for the default (admin) user and production-like ACL users:
      vipcheck  -@all +role +ping +info +client|pause +client|unpause   (the check user)
      noperm    -@all +ping +info             (cannot run ROLE)
      special   -@all +role, password with space, quotes, #, $, backslash and a trailing space
  * three Sentinels (requirepass, resolve-hostnames + announce-hostnames) monitoring M under three
    names: mymaster (127.0.0.1), v6master (written "0:0::1", when the machine has IPv6 loopback) and
    hostmaster (the hostname written "LocalHost"), and a fourth master O ("openmaster") whose default user has NO
    password (so a failed AUTH is the only thing that can demote it); down-after is 10 minutes so
    nothing fails over during the tests.  With announce-hostnames the Sentinels answer the address
    exactly as written in `sentinel monitor`, so "0:0::1" and "LocalHost" test the canonicalisation
    of the answers (not just of our own setting).
Destructive tests (SIGSTOP, BUSY) start their own throw-away redis-server.
"""

import atexit
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types

ROOT = pathlib.Path(__file__).resolve().parents[2]
VIP_CHECK = ROOT / "plugins" / "module_utils" / "_vipcheck"
LAUNCHER = ROOT / "roles" / "keepalived" / "files" / "vip_check.py"
# The interpreter the nodes use (the script's shebang); fall back to the test interpreter.
NODE_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"

ADMIN_PW = "admin-pw"
CHECK_USER, CHECK_PW = "vipcheck", "check-pw"
NOPERM_USER, NOPERM_PW = "noperm", "noperm-pw"
SPECIAL_USER = "special"
SPECIAL_PW = "p w\"o'r#d $HOME \\n\\ end "  # space, both quotes, #, $, backslashes, trailing space
SENTINEL_PW = "sentinel-pw"
SENTINEL_SPECIAL_USER = "checker"


def _load_vip_check():
    """The check's public names in one namespace (vc.redis_call, vc.evaluate ...), imported from the
    collection's tree as the top-level package _vipcheck."""
    sys.path.insert(0, str(VIP_CHECK.parent))
    from _vipcheck import addresses, cli, client, errors, resp, settings, state, transport, verdict
    return types.SimpleNamespace(**{name: value for mod in (errors, resp, addresses, client, settings, verdict,
                                                            state, transport, cli)
                                    for name, value in vars(mod).items() if not name.startswith("_")})


vc = _load_vip_check()


def deploy_check(directory):
    """Lay the check out as the keepalived role installs it: the launcher vip_check.py next to the package
    redis_vip_check/ (a copy of VIP_CHECK's *.py); return the launcher's path."""
    (directory / "redis_vip_check").mkdir(parents=True, exist_ok=True)
    for src in VIP_CHECK.glob("*.py"):
        shutil.copy(src, directory / "redis_vip_check" / src.name)
    shutil.copy(LAUNCHER, directory / "vip_check.py")
    return directory / "vip_check.py"


# The command keepalived and redis-vip-watch run: `python3 -IS CHECK_SCRIPT [--watch] CONFIG`.
_DEPLOYED = pathlib.Path(tempfile.mkdtemp(prefix="redis-vip-check-"))
atexit.register(shutil.rmtree, _DEPLOYED, True)
CHECK_SCRIPT = deploy_check(_DEPLOYED)


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Proc:
    """A redis-server/redis-sentinel process we started."""

    def __init__(self, kind, port, workdir, conf_lines):
        self.kind, self.port, self.workdir = kind, port, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / ("%s-%d.conf" % (kind, port))
        self.log = workdir / ("%s-%d.log" % (kind, port))
        base = [
            "port %d" % port,
            "bind 127.0.0.1 -::1",
            "dir %s" % workdir,
            "logfile %s" % self.log,
            "daemonize no",
            "save \"\"",
            "appendonly no",
        ]
        self.conf.write_text("\n".join(base + conf_lines) + "\n")
        binary = REDIS_SENTINEL if kind == "sentinel" else REDIS_SERVER
        self.popen = subprocess.Popen([binary, str(self.conf)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.stopped = False

    @property
    def pid(self):
        return self.popen.pid

    def wait_ready(self, password, timeout=10.0):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            if self.popen.poll() is not None:
                raise RuntimeError("%s on port %d exited: %s" % (self.kind, self.port, self.tail()))
            try:
                if vc.redis_call("127.0.0.1", self.port, ["PING"], password=password, timeout=0.5) == b"PONG":
                    return self
            except (OSError, vc.RespError) as exc:
                last = exc
            time.sleep(0.02)
        raise RuntimeError("%s on port %d not ready: %r %s" % (self.kind, self.port, last, self.tail()))

    def tail(self):
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def sigstop(self):
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def sigcont(self):
        os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def terminate(self):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
                self.popen.terminate()
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
            except ProcessLookupError:
                pass


def admin(port, *args, password=ADMIN_PW):
    return vc.redis_call("127.0.0.1", port, list(args), password=password, timeout=5)


def add_users(port, password=ADMIN_PW):
    check_rules = ["-@all", "+role", "+ping", "+info", "+client|pause", "+client|unpause"]  # as the redis role's
    for user, pw, rules in ((CHECK_USER, CHECK_PW, check_rules),
                            (NOPERM_USER, NOPERM_PW, ["-@all", "+ping", "+info"]),
                            (SPECIAL_USER, SPECIAL_PW, ["-@all", "+role"])):
        admin(port, "ACL", "SETUSER", user, "reset", "on", ">" + pw, *rules, password=password)


def start_redis(workdir, extra=(), requirepass=True):
    """A redis-server with the test ACL users. requirepass=False leaves the default user without a
    password (anyone may run anything), to prove that a failed AUTH alone demotes."""
    port = free_port()
    conf = ["repl-diskless-sync-delay 0"] + list(extra)
    if requirepass:
        conf.insert(0, "requirepass %s" % ADMIN_PW)
    proc = Proc("redis", port, workdir, conf)
    proc.wait_ready(ADMIN_PW if requirepass else None)
    add_users(port, ADMIN_PW if requirepass else None)
    return proc


class Cluster:
    pass


def sentinel_list(ports, host="127.0.0.1"):
    return " ".join(vc.format_hostport(host, p) for p in ports)


def write_cfg(path, **keys):
    """Write a check config file exactly as the keepalived role renders it (key=value, verbatim)."""
    lines = ["# generated by the tests", ""]
    for key, value in keys.items():
        if value is None:
            continue
        lines.append("%s=%s" % (key, value))
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o640)
    return path


def base_cfg(cluster, node=None, **over):
    """Config for checking `node` (default: the master) against the cluster's Sentinels."""
    node = node or cluster.master
    keys = dict(
        redis_host="127.0.0.1",
        redis_port=node.port,
        redis_user=CHECK_USER,
        redis_password=CHECK_PW,
        announce_host="127.0.0.1",
        announce_port=node.port,
        master_name="mymaster",
        sentinels=sentinel_list([s.port for s in cluster.sentinels]),
        sentinel_password=SENTINEL_PW,
        agreement="majority",
        budget_ms=500,
    )
    keys.update(over)
    return keys


def run_check(cfg_path, timeout=10):
    """Run the file as keepalived does; return (exit code, wall seconds, stderr)."""
    t0 = time.monotonic()
    proc = subprocess.run([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), str(cfg_path)], capture_output=True,
                          text=True, timeout=timeout, check=False)
    return proc.returncode, time.monotonic() - t0, proc.stderr
