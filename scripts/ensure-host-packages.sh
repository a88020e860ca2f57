#!/usr/bin/env bash
# Real redis-server / redis-sentinel binaries on the control machine, for the check's unit tests, and
# shellcheck, for the shellcheck test of ansible-test sanity (tests/lint/test_sanity.py).
# Also promtool (Debian 12's prometheus 2.42, without its daemon) in .cache/prometheus/bin, for
# tests/lint/test_alert_rules.py (promtool check/test rules): `apt-get download` + `dpkg-deb -x`, nothing installed.
set -euo pipefail
cd "$(dirname "$0")/.."
promtool=.cache/prometheus/bin/promtool
if ! [ -x "$promtool" ]; then
  if ! command -v apt-get >/dev/null; then
    echo "promtool is needed for the alert-rule tests: put Prometheus' promtool at $promtool" >&2
    exit 1
  fi
  echo "==> promtool (Debian's prometheus package, extracted) in .cache/prometheus"
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1) \
    || { apt-get update -qq && (cd "$work" && apt-get download -qq prometheus >/dev/null); }
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p .cache/prometheus/bin
  install -m 0755 "$work/root/usr/bin/promtool" "$promtool"
  rm -rf "$work"
fi
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
