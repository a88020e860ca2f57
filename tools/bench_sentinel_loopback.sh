#!/usr/bin/env bash
# Sentinel's own failover time, TLS against plaintext, without the lab: three servers and three Sentinels on
# loopback (node i on 127.0.0.1i: server 6379, Sentinel 26379; down-after 2000 ms as the role's default).
# Each run SIGKILLs the master's server and Sentinel, then drops everything to/from 127.0.0.11 with iptables
# (like `docker kill`: the processes die, their sockets close, the address is gone), and prints the seconds
# from the kill to each step of the failover in the other Sentinels' logs and to the first answer of
# SENTINEL GET-MASTER-ADDR-BY-NAME naming the new master. ORDER=drop-first drops before the kill (no
# connection is reset); PING_PERIOD=ms sets SENTINEL DEBUG ping-period,
# LOGLEVEL=debug keeps the Sentinels' reconnect messages (WORKDIR=dir keeps the logs). Root (iptables); traffic stays on loopback. docs/benchmarks.md "Sentinel over TLS".
#
#   tools/bench_sentinel_loopback.sh tls|plain RUNS [server-binary] [sentinel-binary]
#   CLI=valkey-cli tools/bench_sentinel_loopback.sh tls 4 valkey-server valkey-sentinel
set -euo pipefail
MODE=$1
RUNS=${2:-3}
SERVER=${3:-redis-server}
SENTINEL=${4:-redis-sentinel}
CLI=${CLI:-redis-cli}
D=${WORKDIR:-$(mktemp -d /tmp/sentinel-loopback.XXXXXX)}
cd "$D"

if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj /CN=loopback-ca 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout node.key -out node.csr \
    -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.11,IP:127.0.0.12,IP:127.0.0.13,DNS:localhost\n' > ext
  openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out node.crt -days 2 \
    -extfile ext 2>/dev/null
fi

listen() {  # port: the listening lines of a config
  if [ "$MODE" = tls ]; then
    printf 'port 0\ntls-port %s\ntls-replication yes\ntls-auth-clients no\n' "$1"
    printf 'tls-cert-file %s/node.crt\ntls-key-file %s/node.key\ntls-ca-cert-file %s/ca.crt\n' "$D" "$D" "$D"
  else
    printf 'port %s\n' "$1"
  fi
}
cli() {
  if [ "$MODE" = tls ]; then "$CLI" --tls --cacert "$D/ca.crt" "$@"; else "$CLI" "$@"; fi
}
unblock() {
  iptables -D INPUT -d 127.0.0.11 -j DROP 2>/dev/null || true
  iptables -D INPUT -s 127.0.0.11 -j DROP 2>/dev/null || true
}
block() {
  iptables -I INPUT -d 127.0.0.11 -j DROP
  iptables -I INPUT -s 127.0.0.11 -j DROP
}
kill_node1() {
  kill -9 "$(cat work/r1.pid)" "$(cat work/s1.pid)"
}
stop_all() {  # (a daemonized server's title is its address, not its config file)
  pkill -9 -f '127\.0\.0\.1[123]:(6379|26379)' || true
}
trap 'unblock; stop_all' EXIT

start_group() {
  rm -rf work && mkdir -p work
  for i in 1 2 3; do
    { listen 6379
      printf 'bind 127.0.0.1%s\ndaemonize yes\ndir %s/work\nsave ""\nappendonly no\n' "$i" "$D"
      printf 'logfile %s/work/r%s.log\ndbfilename r%s.rdb\npidfile %s/work/r%s.pid\n' "$D" "$i" "$i" "$D" "$i"
      printf 'replica-announce-ip 127.0.0.1%s\n' "$i"
      if [ "$i" != 1 ]; then printf 'replicaof 127.0.0.11 6379\n'; fi
    } > "work/r$i.conf"
    "$SERVER" "$D/work/r$i.conf"
  done
  sleep 1
  for i in 1 2 3; do
    { listen 26379
      printf 'bind 127.0.0.1%s\ndaemonize yes\ndir %s/work\n' "$i" "$D"
      printf 'logfile %s/work/s%s.log\npidfile %s/work/s%s.pid\n' "$D" "$i" "$D" "$i"
      printf 'sentinel announce-ip 127.0.0.1%s\nsentinel monitor m 127.0.0.11 6379 2\n' "$i"
      printf 'sentinel down-after-milliseconds m 2000\nsentinel failover-timeout m 10000\n'
      printf 'loglevel %s\n' "${LOGLEVEL:-notice}"
    } > "work/s$i.conf"
    "$SENTINEL" "$D/work/s$i.conf"
  done
}

field() {  # sentinel-number field: one field of SENTINEL MASTER m
  cli -h "127.0.0.1$1" -p 26379 sentinel master m 2>/dev/null | awk -v f="$2" 'p {print; exit} $0 == f {p = 1}'
}

wait_group() {  # every Sentinel knows both replicas and both other Sentinels
  for _ in $(seq 1 60); do
    ok=0
    for i in 1 2 3; do
      if [ "$(field "$i" num-other-sentinels)" = 2 ] && [ "$(field "$i" num-slaves)" = 2 ]; then ok=$((ok + 1)); fi
    done
    if [ "$ok" = 3 ]; then return 0; fi
    sleep 0.5
  done
  echo "the group did not form" >&2
  return 1
}

ask() {  # the master the second Sentinel names
  cli -h 127.0.0.12 -p 26379 sentinel get-master-addr-by-name m 2>/dev/null | head -1
}

for run in $(seq 1 "$RUNS"); do
  unblock
  stop_all
  sleep 0.5
  start_group
  wait_group
  if [ -n "${PING_PERIOD:-}" ]; then  # SENTINEL DEBUG ping-period (ms; runtime only, 1000 by default)
    for i in 1 2 3; do cli -h "127.0.0.1$i" -p 26379 sentinel debug ping-period "$PING_PERIOD" >/dev/null; done
  fi
  sleep 3
  t0=$(date +%s.%N)
  if [ "${ORDER:-kill-first}" = drop-first ]; then block; kill_node1; else kill_node1; block; fi
  for _ in $(seq 1 300); do
    named=$(ask || true)
    if [ -n "$named" ] && [ "$named" != 127.0.0.11 ]; then break; fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  sleep 2
  python3 - "$t0" "$t1" "$MODE" "$run" work/s2.log work/s3.log <<'PY'
import datetime
import re
import sys

t0, t1, mode, run = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
steps = ("+sdown", "+odown", "+try-failover", "+elected-leader", "+selected-slave",
         "+failover-state-wait-promotion", "+promoted-slave", "+switch-master")
first = {}
for path in sys.argv[5:]:
    for line in open(path):
        m = re.match(r"\d+:X (\d+ \w+ \d+ [\d:.]+) [#*] (\S+)", line)
        if not m or m.group(2) not in steps:
            continue
        when = datetime.datetime.strptime(m.group(1), "%d %b %Y %H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp() - t0
        if when >= 0:
            first[m.group(2)] = min(first.get(m.group(2), 1e9), when)
print("%s run %s: new master named at %.2f s; %s" % (mode, run, t1 - t0, ", ".join(
    "%s %.2f" % (s, first[s]) for s in steps if s in first)))
PY
done
