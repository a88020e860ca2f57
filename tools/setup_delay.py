#!/usr/bin/env python3
"""Hold TCP connection set-up packets (SYN, SYN-ACK, RST) for a while before a lab node accepts them.

The lab's containers share one kernel: a refused connect is answered before connect() returns, which no two
hosts on a network do (the answer takes a round trip). `install()` (on the control machine, used by
`tools/drill.py --setup-delay-us N`) gives every lab node that round trip for connection set-up only,
established traffic is not touched: it copies this file into each container and runs it there (standard
library only) behind two iptables rules (SYN and RST packets entering on any interface but lo go to netfilter
queue 7, with --queue-bypass so they pass undelayed when the process is gone). Each held packet is accepted
N microseconds later (a raw nfnetlink_queue socket: this kernel has no netem). A refused connect between two
nodes then takes about 2N plus ~0.2 ms (the user-space pass); `install()` measures and returns it.
"""
import argparse
import heapq
import pathlib
import select
import socket
import struct
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLM_F_REQUEST = 1


def _attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _message(msg_type, queue, attrs, seq=0):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    header = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, NLM_F_REQUEST, seq, 0)
    return header + body


def _packet_ids(data):
    """The packet ids of the NFQNL_MSG_PACKET messages in one netlink read."""
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if msg_type & 0xFF == NFQNL_MSG_PACKET:
            pos, end = offset + 20, offset + length
            while pos + 4 <= end:
                alen, akind = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if akind & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", data, pos + 4)[0]
                pos += (alen + 3) & ~3
        offset += (length + 3) & ~3


def serve(queue, delay_s):
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.send(_message(NFQNL_MSG_CONFIG, queue, [_attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0))]))
    sock.send(_message(NFQNL_MSG_CONFIG, queue, [_attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))]))
    held = []
    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        if select.select([sock], [], [], timeout)[0]:
            data = sock.recv(65536)
            for packet_id in _packet_ids(data):
                heapq.heappush(held, (time.monotonic() + delay_s, packet_id))
        while held and held[0][0] <= time.monotonic():
            _, packet_id = heapq.heappop(held)
            sock.send(_message(NFQNL_MSG_VERDICT, queue, [_attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))]))


RULES = ("INPUT ! -i lo -p tcp --tcp-flags SYN SYN -j NFQUEUE --queue-num 7 --queue-bypass",
         "INPUT ! -i lo -p tcp --tcp-flags RST RST -j NFQUEUE --queue-num 7 --queue-bypass")
PROBE = ("import socket,statistics,time\nt=[]\nfor i in range(9):\n s=socket.socket();a=time.perf_counter()\n"
         " try: s.connect(('%s',9))\n except OSError: pass\n t.append(time.perf_counter()-a);s.close()\n"
         "print(round(statistics.median(t)*1e6))")


def install(containers, delay_us, probe_ip):
    """(Re)start the delay in each running container; returns the median time in microseconds of a refused
    connect (port 9) from the first container to probe_ip (another node). Runs on the control machine (tools/lab.py's
    docker helper); inside a container only serve() runs, with the standard library."""
    import lab  # noqa: PLC0415 - tools/ only, never in a container
    for name in containers:
        lab.docker("cp", str(pathlib.Path(__file__).resolve()), "%s:/root/setup_delay.py" % name)
        drop = "; ".join("iptables -D %s 2>/dev/null" % r for r in RULES)
        lab.docker("exec", name, "sh", "-c", "pkill -f '^python3 /root/setup_[d]elay'; %s; true" % drop)
        lab.docker("exec", "-d", name, "python3", "/root/setup_delay.py", "--delay-us", str(delay_us))
        time.sleep(0.3)
        for rule in RULES:
            lab.docker("exec", name, "sh", "-c", "iptables -I " + rule)
    out = lab.docker("exec", containers[0], "python3", "-c", PROBE % probe_ip).stdout
    return int(out.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, default=7)
    parser.add_argument("--delay-us", type=int, default=250)
    args = parser.parse_args()
    serve(args.queue, args.delay_us / 1e6)


if __name__ == "__main__":
    main()
