#!/usr/bin/env bash
# The local lab: Docker containers (same definition as the Molecule scenario) + site.yml.
#   scripts/lab.sh up      create the nodes, run playbooks/site.yml against their inventory, print status
#   scripts/lab.sh status  print the status table of playbooks/status.yml (role, Sentinel's master, VIP, check ...)
#   scripts/lab.sh down    remove the nodes and their networks
# NODES=N (3..9, default 3): three nodes are the Molecule default scenario's (inventories/lab); any other
# count is made by tools/lab_nodes.py from the same definition, with an inventory in .cache/lab-N that
# .cache/lab-inventory names (status and down find it there; the tools read it through REDIS_HA_LAB_INVENTORY).
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${NODES:-3}
if ! [[ $nodes =~ ^[3-9]$ ]]; then
  echo "NODES must be 3..9 (got '$nodes')" >&2
  exit 2
fi
inventory=$(python tools/lab_nodes.py inventory)

# The status table of playbooks/status.yml (the playbook's own output only when it fails).
print_status() {
  local out
  out=$(mktemp -d)
  if ansible-playbook -i "${inventory:-inventories/lab}/hosts.yml" playbooks/status.yml \
      -e status_file="$out/status.txt" >"$out/run.log" 2>&1; then
    cat "$out/status.txt"
  else
    cat "$out/run.log" >&2
    rm -rf "$out"
    return 1
  fi
  rm -rf "$out"
  if [ -n "$inventory" ]; then
    echo "(tools: export REDIS_HA_LAB_INVENTORY=$inventory)"
  fi
}

case "${1:-up}" in
  up)
    if [ "$nodes" -ne 3 ]; then
      python tools/lab_nodes.py up "$nodes"
      inventory=$(python tools/lab_nodes.py inventory)
      # the scenario's prepare (REDIS_HA_TLS=own-ca: the lab's own CA and certificates for these nodes)
      ansible-playbook -i "$inventory/hosts.yml" molecule/default/prepare.yml >/dev/null
      echo "==> ansible-playbook -i $inventory/hosts.yml playbooks/site.yml"
      ansible-playbook -i "$inventory/hosts.yml" playbooks/site.yml
      echo
      print_status
      exit 0
    fi
    python tools/lab_nodes.py down  # an N-node lab gives way to the three-node one
    inventory=
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
    print_status
    ;;
  status)
    print_status
    ;;
  down)
    [ -n "$inventory" ] || molecule destroy -s default
    python tools/lab_nodes.py down  # the nodes it made (even without .cache), the networks once unused
    ;;
  *)
    echo "usage: $0 up|status|down" >&2
    exit 2
    ;;
esac
