#!/usr/bin/env python3
"""Try a change to Valkey's Sentinel in the lab: build valkey-sentinel from Debian's source of the lab's Valkey
with a patch, and put it in place of the packaged one on the lab's nodes (benchmark experiments only).

  python tools/patched_sentinel.py build docs/upstream/sentinel-tls-reconnect-clock.patch .cache/sentinel-patched
  python tools/patched_sentinel.py build none .cache/sentinel-unpatched        # the same build, no patch (control)
  python tools/patched_sentinel.py install .cache/sentinel-patched             # every lab node, one at a time
  python tools/patched_sentinel.py restore                                     # the packaged binary again

build: a throwaway container of the lab's Debian 13 image fetches the upstream tarball Debian's valkey source
package is made of (`apt-get source --download-only`, Debian's registry), applies the patch to src/ and runs
`make BUILD_TLS=yes USE_SYSTEMD=yes` (as Debian's package: TLS built in, systemd notification).
install: on each node, /usr/bin/valkey-sentinel (the package's symlink to its server binary) becomes the built
file, and the Sentinel unit is restarted; the next node only once this Sentinel answers PING and knows the
master again (its state is in its own configuration file; the role's runtime settings are applied again by
ExecStartPost). Servers, keepalived and the check keep the packaged binaries. restore puts the symlink back.
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import lab

IMAGE = "redis-ha/debian13"
SENTINEL = "/usr/bin/valkey-sentinel"
PACKAGED_TARGET = "valkey-check-rdb"  # what the package's symlink points to (Debian 13, valkey 8.1)
BUILD = r"""set -eu
sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/*.sources
apt-get update -qq
apt-get install -y -qq build-essential libssl-dev pkg-config libsystemd-dev >/dev/null
cd /src
apt-get source --download-only valkey >/dev/null 2>&1 || true   # the .dsc may be gone; the tarball is enough
tar xf valkey_*.orig.tar.xz
cd valkey-*/
if [ -s /src/change.patch ]; then patch -p1 < /src/change.patch; fi
make -j"$(nproc)" BUILD_TLS=yes USE_SYSTEMD=yes valkey-server >/src/build.log 2>&1 \
  || { tail -n 30 /src/build.log; exit 1; }
cp src/valkey-server /src/valkey-sentinel
src/valkey-server --version
"""


def build(patch: str, out: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory(prefix="sentinel-build-") as tmp:
        if patch != "none":
            shutil.copy(patch, pathlib.Path(tmp) / "change.patch")
        print("building in a throwaway %s container (a few minutes) ..." % IMAGE, flush=True)
        res = subprocess.run(["docker", "run", "--rm", "-v", "%s:/src" % tmp, IMAGE, "sh", "-c", BUILD],
                             capture_output=True, text=True, timeout=1800)
        if res.returncode:
            sys.exit("build failed:\n%s%s" % (res.stdout[-3000:], res.stderr[-3000:]))
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pathlib.Path(tmp) / "valkey-sentinel", out)
        print(res.stdout.strip().splitlines()[-1], "->", out)


def _wait_sentinel(node: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if lab.sentinel_master(lab.announce_ip(node)):  # None while it does not answer
            return
        time.sleep(0.2)
    sys.exit("%s: Sentinel did not come back within %d s" % (node, timeout))


def _replace(node: str, command: str) -> None:
    lab.docker("exec", node, "sh", "-c", "%s && systemctl restart valkey-sentinel" % command)
    _wait_sentinel(node)
    version = lab.docker("exec", node, "sh", "-c", "ls -l %s; %s --version" % (SENTINEL, SENTINEL)).stdout
    print("%s: %s" % (node, " | ".join(line.strip() for line in version.splitlines())), flush=True)


def install(binary: pathlib.Path) -> None:
    for node in lab.nodes():
        lab.docker("cp", str(binary), "%s:%s.new" % (node, SENTINEL))
        _replace(node, "chmod 0755 {0}.new && mv -f {0}.new {0}".format(SENTINEL))


def restore() -> None:
    for node in lab.nodes():
        _replace(node, "ln -sfn %s %s" % (PACKAGED_TARGET, SENTINEL))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build")
    b.add_argument("patch", help="a patch of Valkey's source tree (diff -u, a/src/... b/src/...) or none")
    b.add_argument("out", type=pathlib.Path)
    i = sub.add_parser("install")
    i.add_argument("binary", type=pathlib.Path)
    sub.add_parser("restore")
    args = parser.parse_args()
    if lab.engine() != "valkey" or lab.platform() != "debian13":
        sys.exit("the lab must be Debian 13 + Valkey (REDIS_HA_PLATFORM=debian13 REDIS_HA_ENGINE=valkey)")
    if args.action == "build":
        build(args.patch, args.out)
    elif args.action == "install":
        install(args.binary)
    else:
        restore()


if __name__ == "__main__":
    main()
