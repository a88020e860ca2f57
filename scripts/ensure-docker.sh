#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info` on this machine.
#
#   scripts/ensure-docker.sh
#
# - If `docker info` already works: exit 0 (nothing else is touched).
# - Else, as root on Debian: `apt-get update` (at most once) and install
#   docker.io if dockerd is missing, then start dockerd in the background
#   (log: /var/log/dockerd-redis-ha.log) and wait up to ~60 s for it.
# - Otherwise: print what is missing and exit non-zero.
#
# Storage driver: overlay2 is used when an overlay mount works on the
# filesystem that holds /var/lib/docker; otherwise dockerd is started with
# --storage-driver=vfs (slow and disk-hungry, but works everywhere).
# Override with REDIS_HA_DOCKER_STORAGE_DRIVER=overlay2|vfs|...
#
# Idempotent: safe to run any number of times, also concurrently with a
# dockerd that is still starting up.
set -euo pipefail

LOG=/var/log/dockerd-redis-ha.log
WAIT_SECONDS=${REDIS_HA_DOCKER_WAIT:-60}
DOCKER_ROOT=/var/lib/docker

say() { printf '[ensure-docker] %s\n' "$*" >&2; }
die() { printf '[ensure-docker] ERROR: %s\n' "$*" >&2; exit 1; }

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if docker_ok; then
    say "docker engine is reachable ($(docker info --format '{{.ServerVersion}} / storage {{.Driver}}' 2>/dev/null || echo '?'))"
    exit 0
fi

say "docker info does not answer; trying to start a local engine"

[ "$(id -u)" -eq 0 ] || die "not running as root (uid $(id -u)): cannot install or start dockerd. Start Docker yourself or rerun as root."
if ! { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }; then
    die "this is not a Debian system (no /etc/debian_version or apt-get): install and start a Docker engine by hand."
fi

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        apt-get update -qq >/dev/null || die "apt-get update failed"
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    local log
    log=$(mktemp /tmp/ensure-docker-apt.XXXXXX)
    if ! apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "apt-get install $* failed (full log: $log)"
    fi
    rm -f "$log"
}

if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
    command -v dockerd >/dev/null 2>&1 || die "docker.io was installed but dockerd is still missing"
fi
if ! command -v docker >/dev/null 2>&1; then
    # dockerd present but no client (unusual): docker.io ships both.
    apt_install docker.io
fi
# Docker needs iptables for its bridge/NAT rules (a dependency of docker.io,
# checked anyway in case dockerd came from elsewhere).
command -v iptables >/dev/null 2>&1 || apt_install iptables

# --- storage driver -------------------------------------------------------
overlay_works() {
    # Try a real overlay mount on the filesystem that will hold /var/lib/docker.
    mkdir -p "$DOCKER_ROOT"
    local d
    d=$(mktemp -d "$DOCKER_ROOT/.overlay-probe.XXXXXX") || return 1
    mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
    echo probe > "$d/l/f"
    local ok=1
    if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
        if [ "$(cat "$d/m/f" 2>/dev/null)" = probe ] && echo x > "$d/m/g" 2>/dev/null; then
            ok=0
        fi
        umount "$d/m" 2>/dev/null || true
    fi
    # only remove the probe directory once nothing is mounted on it
    if ! mountpoint -q "$d/m"; then rm -rf "$d"; fi
    return $ok
}

STORAGE_ARGS=()
if [ -n "${REDIS_HA_DOCKER_STORAGE_DRIVER:-}" ]; then
    STORAGE_ARGS=(--storage-driver="$REDIS_HA_DOCKER_STORAGE_DRIVER")
    say "storage driver forced by REDIS_HA_DOCKER_STORAGE_DRIVER: $REDIS_HA_DOCKER_STORAGE_DRIVER"
elif [ -f /etc/docker/daemon.json ] && grep -q '"storage-driver"' /etc/docker/daemon.json; then
    say "storage driver taken from /etc/docker/daemon.json"
elif overlay_works; then
    say "overlay mount works on $(stat -f -c %T "$DOCKER_ROOT" 2>/dev/null || echo '?'): using overlay2"
    STORAGE_ARGS=(--storage-driver=overlay2)
else
    say "overlay mount does NOT work here: falling back to --storage-driver=vfs (slower, uses more disk)"
    STORAGE_ARGS=(--storage-driver=vfs)
fi

# --- start dockerd --------------------------------------------------------
if pgrep -x dockerd >/dev/null 2>&1; then
    say "a dockerd process is already running (pid $(pgrep -x dockerd | tr '\n' ' ')); waiting for it"
else
    say "starting dockerd ${STORAGE_ARGS[*]} (log: $LOG)"
    touch "$LOG"
    setsid nohup dockerd "${STORAGE_ARGS[@]}" >>"$LOG" 2>&1 </dev/null &
    disown || true
fi

for i in $(seq 1 "$WAIT_SECONDS"); do
    if docker_ok; then
        say "docker engine ready after ${i}s: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null || echo '?')"
        exit 0
    fi
    if [ $((i % 5)) -eq 0 ]; then say "still waiting for docker info (${i}s/${WAIT_SECONDS}s)"; fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        say "dockerd exited; last lines of $LOG:"
        tail -n 30 "$LOG" >&2 || true
        die "dockerd failed to start"
    fi
    sleep 1
done

say "last lines of $LOG:"
tail -n 30 "$LOG" >&2 || true
die "docker info still fails after ${WAIT_SECONDS}s"
