#!/usr/bin/env bash
# Benchmark series of the online engine move (docs/benchmarks.md, issue 12): RUNS times, on the default
# scenario's Debian 12 nodes, a freshly converged Redis 7.0 group is moved to Valkey 8.0 by
# playbooks/migrate_engine.yml under the drill's writer (tools/drill.py migrate-engine), then site.yml with
# redis_ha_engine=valkey must change nothing. The move is one-way (Redis 7.0 cannot load Valkey's RDB), hence
# a new group per run. About 12 minutes per run on the 2-core development machine; run it on an otherwise
# idle machine. Needs `make image collection` first.
#
#   tools/bench_migrate_engine.sh [RUNS] [OUT_DIR]        # default 5 runs into /tmp/migrate-series
set -euo pipefail
RUNS=${1:-5}
OUT=${2:-/tmp/migrate-series}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections \
    PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 REDIS_HA_PLATFORM=debian12
mkdir -p "$OUT"
say() { printf '[%(%H:%M:%S)T] %s (load %s)\n' -1 "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
for i in $(seq 1 "$RUNS"); do
    say "run $i/$RUNS: a fresh Redis group"
    REDIS_HA_ENGINE=redis molecule destroy -s default >"$OUT/destroy-$i.log" 2>&1
    REDIS_HA_ENGINE=redis molecule converge -s default >"$OUT/converge-$i.log" 2>&1
    say "run $i/$RUNS: moving it to Valkey under the writer"
    REDIS_HA_ENGINE=redis python tools/drill.py migrate-engine --runs 1 --out "$OUT/run-$i" >"$OUT/drill-$i.log" 2>&1
    tail -3 "$OUT/drill-$i.log"
    REDIS_HA_ENGINE=valkey molecule converge -s default >"$OUT/after-$i.log" 2>&1
    say "run $i/$RUNS: site.yml afterwards: $(grep -cE 'changed=[1-9]' "$OUT/after-$i.log" || true) hosts changed"
done
REDIS_HA_ENGINE=valkey molecule destroy -s default >/dev/null 2>&1
say "done: JSON in $OUT/run-*/drill-migrate-engine.json"
