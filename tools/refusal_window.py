"""How long a killed lab node refuses connections before its address is gone (docs/benchmarks.md, session 9).

    .venv/bin/python tools/refusal_window.py redis-ha-1 redis-ha-3 --runs 3

From the first node, connect to the second node's Redis port every few milliseconds while the second node is
killed with `docker kill` (then started again and given 20 s to rejoin): prints, per run, the milliseconds from
the kill to the first refused connect and to the first connect left pending (the address is gone). Kill a
replica, not the master, unless a failover is wanted. Traffic stays between the lab's own containers.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import lab  # noqa: E402

# Runs inside the first node (standard library only): one line per change of outcome, "<epoch s> <outcome>".
PROBE = """
import errno, socket, sys, time
ip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, last = time.time() + seconds, None
while time.time() < end:
    s = socket.socket()
    s.setblocking(False)
    t = time.time()
    s.connect_ex((ip, port))
    time.sleep(0.002)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err == errno.ECONNREFUSED:
        state = "refused"
    elif err:
        state = errno.errorcode.get(err, str(err))
    else:
        try:
            s.getpeername()
            state = "connected"
        except OSError:
            state = "pending"
    if state != last:
        print("%.4f %s" % (t, state), flush=True)
        last = state
    s.close()
    time.sleep(0.005)
"""


def one_run(probe_node: str, target: str, observe_s: float = 3.0) -> dict:
    ip, port = lab.announce_ip(target), lab.redis_port()
    proc = subprocess.Popen(["docker", "exec", probe_node, "python3", "-c", PROBE, ip, str(port), str(observe_s)],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    t_kill = time.time()
    lab.docker("kill", target)
    out, _ = proc.communicate(timeout=observe_s + 30)
    lab.docker("start", target)
    changes = [(float(t), state) for t, state in (line.split() for line in out.splitlines())]
    first = {}
    for t, state in changes:
        if t >= t_kill:
            first.setdefault(state, round((t - t_kill) * 1000))
    return {"refused_ms": first.get("refused"), "pending_ms": first.get("pending"), "changes": len(changes)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("probe_node")
    parser.add_argument("target")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    for i in range(1, args.runs + 1):
        result = one_run(args.probe_node, args.target)
        window = (result["pending_ms"] - result["refused_ms"]) if None not in result.values() else None
        print("run %d: refused from %s ms, pending from %s ms after the kill (refusal window %s ms)"
              % (i, result["refused_ms"], result["pending_ms"], window), flush=True)
        time.sleep(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
