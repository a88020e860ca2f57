"""Kill the lab's master container and print the failover timeline: Sentinel events seen by the surviving
Sentinels and the first successful write through the VIP. Repeats N times (waiting for the killed node to
rejoin between runs) and prints median/max. A first step of the drill tool (docs/failover.md).

    .venv/bin/python tools/failover_timeline.py --runs 5

Traffic goes only to the lab's own containers (inventories/lab, or the N-node lab's inventory that
REDIS_HA_LAB_INVENTORY names: `make lab NODES=N` prints it)."""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

import lab
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

EVENTS = lab.SENTINEL_EVENTS


def _listen(ip, events, stop):
    gv = lab.group_vars()
    cli = redis.Redis(host=ip, port=lab.sentinel_port(), password=gv["redis_ha_sentinel_password"],
                      retry=Retry(NoBackoff(), 0), socket_timeout=0.5, **lab.tls_kwargs())
    pubsub = cli.pubsub()
    pubsub.psubscribe(*EVENTS)
    while not stop.is_set():
        try:
            msg = pubsub.get_message(timeout=0.2)
        except (redis.RedisError, OSError):
            return
        if msg and msg["type"] == "pmessage" and msg["data"].decode().startswith(("master", "slave", lab.master_name())):
            events.append((time.monotonic(), ip, msg["channel"].decode(), msg["data"].decode()))


def _master(ips):
    named = [lab.sentinel_master(ip) for ip in ips.values() if ip]
    named = [n for n in named if n]
    best = max(set(named), key=named.count)
    return next(n for n, ip in ips.items() if ip == best.rsplit(":", 1)[0])


def one_run(bound_s=60.0):
    ips = lab.node_ips()
    master = _master(ips)
    survivors = {n: ip for n, ip in ips.items() if n != master}
    events, stop = [], threading.Event()
    threads = [threading.Thread(target=_listen, args=(ip, events, stop), daemon=True) for ip in survivors.values()]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t_kill = time.monotonic()
    lab.docker("kill", master)
    first = None
    while time.monotonic() - t_kill < bound_s:
        cli = lab.vip_client(timeout=0.1)
        try:
            cli.set("timeline:probe", str(time.time()))
            first = time.monotonic() - t_kill
            break
        except (redis.RedisError, OSError):
            time.sleep(0.01)
        finally:
            cli.close()
    time.sleep(0.5)
    stop.set()
    print("\nkilled %s" % master)
    for t, ip, channel, data in sorted(events):
        if channel in ("+sdown", "+odown") and not data.startswith("master"):
            continue
        print("  %6.2f s  sentinel %-15s %-16s %s" % (t - t_kill, ip, channel, data[:70]))
    print("  %6s    first successful write through the VIP" % ("%.2f s" % first if first else "none"))
    switch = [t - t_kill for t, _ip, ch, _d in events if ch == "+switch-master"]
    # bring the node back and wait until it is a replica again
    lab.docker("start", master)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        ip = lab.node_ip(master)
        if ip and lab.redis_role(ip) == "slave" and lab.vip_holders() and master not in lab.vip_holders():
            break
        time.sleep(1)
    time.sleep(5)
    return first, (min(switch) if switch else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    firsts, switches = [], []
    for i in range(args.runs):
        print("run %d/%d" % (i + 1, args.runs), flush=True)
        first, switch = one_run()
        if first is not None:
            firsts.append(first)
        if switch is not None:
            switches.append(switch)
    print("\nkill -> first write through the VIP: median %.2f s, max %.2f s (%d runs)"
          % (statistics.median(firsts), max(firsts), len(firsts)))
    if switches:
        print("kill -> first +switch-master: median %.2f s, max %.2f s" % (statistics.median(switches), max(switches)))
    return 0 if len(firsts) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
