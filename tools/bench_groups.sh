#!/bin/sh
# Site runs for 1, 2 and 4 Redis groups on three nodes (issue 27, docs/benchmarks.md "Several groups on three
# nodes"): for each count, fresh deploys on new containers (tools/bench_fresh_deploy.py), then no-op runs on the
# last of them (tools/bench_site_phases.py). The groups beyond the first are the lab's lab_more_groups
# (REDIS_HA_GROUPS=N, inventories/lab). Leaves the last lab up (make lab-down removes it).
#
#   tools/bench_groups.sh                     # 3 fresh and 5 no-op runs per count, JSON in docs/drills/deploys
#   RUNS_FRESH=1 RUNS_NOOP=2 OUT=/tmp/x tools/bench_groups.sh
set -eu
cd "$(dirname "$0")/.."
py=.venv/bin/python
out=${OUT:-docs/drills/deploys}
for extra in ${GROUP_COUNTS:-0 1 3}; do
  total=$((extra + 1))
  echo "==> $total group(s): ${RUNS_FRESH:-3} fresh deploys"
  REDIS_HA_GROUPS=$extra $py tools/bench_fresh_deploy.py --nodes 3 --runs "${RUNS_FRESH:-3}" \
    --out "$out/groups-$total-fresh.json"
  echo "==> $total group(s): ${RUNS_NOOP:-5} no-op runs"
  REDIS_HA_GROUPS=$extra REDIS_HA_LAB_INVENTORY="$PWD/.cache/lab-3" $py tools/bench_site_phases.py \
    --runs "${RUNS_NOOP:-5}" --out "$out/groups-$total-noop.json"
done
