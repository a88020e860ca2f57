#!/usr/bin/env bash
# Real redis-server / redis-sentinel binaries on the control machine, for the check's unit tests, and
# shellcheck, for the shellcheck test of ansible-test sanity (tests/lint/test_sanity.py).
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null && command -v shellcheck >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "redis-server, redis-sentinel and shellcheck are needed for the tests: install them (Debian: apt-get install redis-server redis-sentinel shellcheck)" >&2
  exit 1
fi
echo "==> Installing redis-server, redis-sentinel and shellcheck for the tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server redis-sentinel shellcheck >/dev/null
# Packaged services are not used by the tests; do not leave them running where an init system started them.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now redis-server redis-sentinel >/dev/null 2>&1 || true
fi
