#!/usr/bin/env bash
# Build a Debian systemd base image used by the Molecule scenarios and the lab:
#
#   scripts/build-image.sh [debian12|debian13]            # build, or reuse if the recipe is unchanged
#   FORCE=1 scripts/build-image.sh debian13               # rebuild unconditionally
#
# One recipe (images/debian/) for every release; the argument picks the suite
# (debian12 = bookworm, debian13 = trixie; default debian12). The image is made
# from scratch with debootstrap (no registry is needed) and imported as
# redis-ha/<release>:latest. The label redis-ha.recipe-sha256 holds a sha256
# over the recipe (images/debian/*, this script, the suite and the apt sources
# taken from the host); when it matches, the image is reused.
#
# Apt sources: the same Debian mirror(s) the host's apt uses (from
# /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list), including
# <suite>-updates and <suite>-security when the host has them (else the
# host's mirror for the main suite). Override with DEBIAN_MIRROR=http://...
# and DEBIAN_SECURITY_MIRROR=http://...
set -euo pipefail

RELEASE=${1:-debian12}
case "$RELEASE" in
    debian12) SUITE=bookworm ;;
    debian13) SUITE=trixie ;;
    *) printf '[build-image] ERROR: unknown release %s (debian12 or debian13)\n' "$RELEASE" >&2; exit 2 ;;
esac
IMAGE=${REDIS_HA_IMAGE:-redis-ha/$RELEASE:latest}
LABEL=redis-ha.recipe-sha256
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECIPE_DIR="$ROOT/images/debian"

say() { printf '[build-image %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-image] ERROR: %s\n' "$*" >&2; exit 1; }

"$ROOT/scripts/ensure-docker.sh"

# --- apt sources, as the host's apt has them ----------------------------------
# Prints lines "<suite> <uri>" for the suite's family (main, -updates, -security), main archive
# first. Host sources pointing elsewhere (other suites, third-party repos) are
# ignored.
host_sources() {
    python3 - "$SUITE" <<'PY'
import glob, re, sys
suite = sys.argv[1]
wanted = [suite, suite + "-updates", suite + "-security"]
found = {}
def add(uris, suites, comps):
    if "main" not in comps:
        return
    for s in suites:
        if s in wanted and s not in found and uris:
            found[s] = uris[0].rstrip("/")
# deb822 files
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    try:
        text = open(path).read()
    except OSError:
        continue
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in para.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, val = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        add(fields.get("uris", "").split(), fields.get("suites", "").split(),
            fields.get("components", "").split())
# one-line format
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(line) >= 4 and line[0] == "deb":
            add([line[1]], [line[2]], line[3:])
for s in wanted:
    if s in found:
        print(s, found[s])
PY
}

declare -A SRC=()
while read -r s uri; do SRC[$s]=$uri; done < <(host_sources || true)
MIRROR=${DEBIAN_MIRROR:-${SRC[$SUITE]:-http://deb.debian.org/debian}}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-${SRC[$SUITE-security]:-}}
MAIN_SUITES="$SUITE"
if [ -n "${SRC[$SUITE-updates]:-}" ] || [ -n "${DEBIAN_MIRROR:-}" ]; then MAIN_SUITES="$SUITE $SUITE-updates"; fi

SOURCES_FILE_CONTENT="Types: deb
URIs: $MIRROR
Suites: $MAIN_SUITES
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
if [ -n "$SECURITY_MIRROR" ]; then
    SOURCES_FILE_CONTENT+="
Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
fi

# --- recipe hash / reuse --------------------------------------------------------
RECIPE_SHA=$(
    {
        cd "$ROOT"
        for f in scripts/build-image.sh $(cd "$ROOT" && find images/debian -type f | LC_ALL=C sort); do
            printf '== %s\n' "$f"; cat "$f"
        done
        printf '== suite %s\n== sources\n%s' "$SUITE" "$SOURCES_FILE_CONTENT"
    } | sha256sum | cut -d' ' -f1
)
CURRENT_SHA=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$CURRENT_SHA" = "$RECIPE_SHA" ]; then
    say "image $IMAGE is up to date (recipe sha256 $RECIPE_SHA): reused, not rebuilt"
    exit 0
fi
if [ -n "$CURRENT_SHA" ]; then
    say "image $IMAGE exists with recipe ${CURRENT_SHA:0:12}, recipe is now ${RECIPE_SHA:0:12}: rebuilding"
else
    say "image $IMAGE not found: building (recipe ${RECIPE_SHA:0:12})"
fi
say "mirror: $MIRROR ($MAIN_SUITES)${SECURITY_MIRROR:+, security: $SECURITY_MIRROR}"

# --- tools ------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends debootstrap >/tmp/build-image-apt.log 2>&1 \
        || { tail -n 20 /tmp/build-image-apt.log >&2; die "cannot install debootstrap"; }
fi
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"

# --- build ------------------------------------------------------------------------
START=$SECONDS
WORK=$(mktemp -d /var/tmp/redis-ha-image.XXXXXX)
RFS="$WORK/rootfs"
cleanup() {
    for m in "$RFS/proc" "$RFS/dev/pts"; do
        if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
    done
    # never delete while something is still mounted below the work dir
    if ! grep -q " $WORK/" /proc/mounts; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

say "debootstrap --variant=minbase $SUITE -> $RFS (log: $WORK/debootstrap.log)"
if ! debootstrap --variant=minbase --keyring="$KEYRING" --components=main \
        "$SUITE" "$RFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [ -f "$RFS/debootstrap/debootstrap.log" ] && tail -n 30 "$RFS/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
fi
say "debootstrap done ($((SECONDS - START))s)"

rm -f "$RFS/etc/apt/sources.list"
printf '%s' "$SOURCES_FILE_CONTENT" > "$RFS/etc/apt/sources.list.d/debian.sources"
# resolv.conf for the chroot only; docker replaces it in containers
cp -L /etc/resolv.conf "$RFS/etc/resolv.conf"
# no service starts inside the chroot during the build
printf '#!/bin/sh\nexit 101\n' > "$RFS/usr/sbin/policy-rc.d"; chmod +x "$RFS/usr/sbin/policy-rc.d"
mount -t proc proc "$RFS/proc"
mount -t devpts devpts "$RFS/dev/pts" 2>/dev/null || true

PKGS=$(sed -e 's/#.*//' "$RECIPE_DIR/packages.txt" | xargs)
in_chroot() { LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$RFS" "$@"; }
say "apt-get update + dist-upgrade (updates/security) in the rootfs"
in_chroot apt-get update -qq
in_chroot apt-get -y -qq dist-upgrade >"$WORK/apt.log" 2>&1 || { tail -n 30 "$WORK/apt.log" >&2; die "dist-upgrade failed"; }
say "installing: $PKGS"
# shellcheck disable=SC2086
in_chroot apt-get install -y -qq --no-install-recommends $PKGS >>"$WORK/apt.log" 2>&1 || { tail -n 30 "$WORK/apt.log" >&2; die "package install failed"; }
say "packages installed ($((SECONDS - START))s)"

cp "$RECIPE_DIR/customize.sh" "$RFS/tmp/customize.sh"
in_chroot /bin/sh /tmp/customize.sh
rm -f "$RFS/etc/resolv.conf" "$RFS/tmp/customize.sh"
touch "$RFS/etc/resolv.conf"
umount "$RFS/dev/pts" 2>/dev/null || true
umount "$RFS/proc"

ROOTFS_IMAGE="${IMAGE%:*}:rootfs-$RECIPE_SHA"
ROOTFS_IMAGE="${ROOTFS_IMAGE:0:80}"
say "importing rootfs into docker as $ROOTFS_IMAGE"
tar -C "$RFS" --numeric-owner --xattrs --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . \
  | docker import \
      --change 'CMD ["/lib/systemd/systemd"]' \
      --change 'ENV container=docker' \
      --message "debootstrap $SUITE from $MIRROR, recipe $RECIPE_SHA" \
      - "$ROOTFS_IMAGE" >/dev/null
say "adding image config (STOPSIGNAL, CMD, ENV, LABEL) from images/debian/Dockerfile -> $IMAGE"
# Classic builder on purpose: FROM a local image, no registry, no buildx needed.
DOCKER_BUILDKIT=0 docker build -q \
    --build-arg ROOTFS_IMAGE="$ROOTFS_IMAGE" \
    --build-arg RECIPE_SHA256="$RECIPE_SHA" \
    --build-arg RELEASE="$RELEASE" --build-arg SUITE="$SUITE" \
    -t "$IMAGE" - < "$RECIPE_DIR/Dockerfile" >"$WORK/docker-build.log" 2>&1 \
    || { cat "$WORK/docker-build.log" >&2; die "docker build of the metadata layer failed"; }
docker rmi "$ROOTFS_IMAGE" >/dev/null   # only removes the tag; the layer stays as the parent
# leave no dangling old images behind
docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) in $((SECONDS - START))s"
