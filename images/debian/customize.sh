#!/bin/sh
# Runs INSIDE the Debian rootfs (chroot) after the packages are installed.
# Makes systemd boot cleanly as PID 1 in an unprivileged-ish container
# (caps SYS_ADMIN/NET_ADMIN/NET_RAW/NET_BROADCAST, no --privileged).
set -eu

# Units that cannot work in a container (no real ttys, no udev, no kernel
# module loading, no writable /sys/kernel/* mounts, no audit) are masked so
# that `systemctl is-system-running` reports "running" instead of "degraded".
for unit in \
    getty.target getty@.service serial-getty@.service console-getty.service \
    container-getty@.service autovt@.service \
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service \
    systemd-modules-load.service kmod-static-nodes.service \
    systemd-remount-fs.service systemd-firstboot.service \
    systemd-journald-audit.socket \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-fs-fuse-connections.mount dev-hugepages.mount \
    proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-binfmt.service \
    systemd-pstore.service \
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer
do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done

# Boot to multi-user (no graphical / rescue surprises).
ln -sf /lib/systemd/system/multi-user.target /etc/systemd/system/default.target

# Empty machine-id: systemd makes a fresh one at each container's first boot,
# so the three lab nodes do not share one.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id

# Journald: keep logs in memory (/run is a tmpfs), bounded.
mkdir -p /etc/systemd/journald.conf.d
cat > /etc/systemd/journald.conf.d/10-container.conf <<'CONF'
[Journal]
Storage=volatile
RuntimeMaxUse=32M
CONF

# No docs/man pages for packages installed later either (keeps containers small).
cat > /etc/dpkg/dpkg.cfg.d/01-redis-ha-nodoc <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
rm -rf /usr/share/man/* /usr/share/info/*
find /usr/share/doc -mindepth 1 -not -name copyright -type f -delete 2>/dev/null || true
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true

# Image hygiene: package lists are dropped on purpose (roles must use
# update_cache, as on a freshly installed host); the build-time policy-rc.d
# is removed so services installed later start normally.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log
rm -f /usr/sbin/policy-rc.d
# An empty package list must look stale to apt's cache_valid_time (it compares this directory's mtime).
touch -d @0 /var/lib/apt/lists
rm -rf /tmp/* /var/tmp/*
