#!/usr/bin/env bash
# Real redis-server / redis-sentinel binaries on the control machine, for the check's unit tests.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "redis-server and redis-sentinel are needed for the unit tests: install them (Debian: apt-get install redis-server redis-sentinel)" >&2
  exit 1
fi
echo "==> Installing redis-server and redis-sentinel for the unit tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server redis-sentinel >/dev/null
# Packaged services are not used by the tests; do not leave them running where an init system started them.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now redis-server redis-sentinel >/dev/null 2>&1 || true
fi
