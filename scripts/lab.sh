#!/usr/bin/env bash
# The local three-node lab: Docker containers (same definition as the Molecule scenario) + site.yml.
#   scripts/lab.sh up      create the nodes, run playbooks/site.yml against inventories/lab, print status
#   scripts/lab.sh status  print the status table (node, Redis role, Sentinel's master, VIP holder)
#   scripts/lab.sh down    remove the nodes and their network
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-up}" in
  up)
    echo "==> Creating the lab nodes (molecule create)"
    molecule create -s default
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
