#!/usr/bin/env bash
# The local three-node lab: Docker containers (same definition as the Molecule scenario) + site.yml.
#   scripts/lab.sh up      create the nodes, run playbooks/site.yml against inventories/lab, print status
#   scripts/lab.sh status  print the status table (node, Redis role, Sentinel's master, VIP holder)
#   scripts/lab.sh down    remove the nodes and their network
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-up}" in
  up)
    running=$(docker ps --filter name='^redis-ha-[123]$' --filter status=running -q | wc -l)
    if [ "$running" -eq 3 ]; then
      echo "==> The three lab nodes are running: reusing them"
    else
      echo "==> Creating the lab nodes (molecule destroy + create)"
      molecule destroy -s default >/dev/null  # forget any stale Molecule state (e.g. after a reboot)
      molecule create -s default
    fi
    echo "==> ansible-playbook -i inventories/lab/hosts.yml playbooks/site.yml"
    ansible-playbook -i inventories/lab/hosts.yml playbooks/site.yml
    echo
    python tools/lab.py
    ;;
  status)
    python tools/lab.py
    ;;
  down)
    molecule destroy -s default
    ;;
  *)
    echo "usage: $0 up|status|down" >&2
    exit 2
    ;;
esac
