#!/bin/sh
# Example keepalived notify hook (keepalived_notify_hooks; not run by the collection's tests): moves a
# Hetzner Cloud floating IP to this server when keepalived makes it VRRP MASTER, because in public clouds
# an address moves through the provider's API, not by gratuitous ARP alone.
#
# Install it with the role (runs as keepalived_script_user, arguments INSTANCE NAME STATE PRIORITY):
#   keepalived_notify_hooks:
#     - name: hetzner-floating-ip
#       src: examples/hetzner-floating-ip.sh     # this file (the role's files/), or a copy of yours
#
# It reads its settings from /etc/keepalived/hetzner-floating-ip.env (owner root, group keepalived_script,
# mode 0640; the API token never appears on a command line):
#   FLOATING_IP_ID=123456
#   SERVER_ID=7654321          # this node's server id (differs per node)
#   AUTH_HEADER_FILE=/etc/keepalived/hetzner-api.header
# and the token from AUTH_HEADER_FILE (same owner and mode), one line: "Authorization: Bearer <token>".
# The hook only acts on MASTER; BACKUP, FAULT and STOP need nothing (the new master claims the address).
set -eu
state=$3
[ "$state" = MASTER ] || exit 0
# shellcheck disable=SC1091
. /etc/keepalived/hetzner-floating-ip.env
# curl reads the Authorization header from the file (-H @file), so the token stays out of the process list.
curl --fail --silent --show-error --max-time 20 --retry 3 --retry-all-errors \
  -H @"$AUTH_HEADER_FILE" -H "Content-Type: application/json" \
  -d "{\"server\": $SERVER_ID}" \
  "https://api.hetzner.cloud/v1/floating_ips/$FLOATING_IP_ID/actions/assign"
