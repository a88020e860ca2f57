"""Fixtures of the static checks: the collection tarball, built once per run, and its installed tree."""

import pathlib
import subprocess
import sys
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    """`ansible-galaxy collection build` of the work tree (build_ignore of galaxy.yml applied)."""
    out = tmp_path_factory.mktemp("build")
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    tarballs = list(out.glob("redis_ha-sentinel_vip-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(scope="session")
def collection_tree(collection_tarball, tmp_path_factory):
    """The tarball unpacked as ansible_collections/redis_ha/sentinel_vip (what ansible-test expects)."""
    tree = tmp_path_factory.mktemp("collections") / "ansible_collections" / "redis_ha" / "sentinel_vip"
    tree.mkdir(parents=True)
    with tarfile.open(collection_tarball) as tar:
        tar.extractall(tree, filter="data")
    return tree


@pytest.fixture(scope="session")
def installed_collections(collection_tarball, tmp_path_factory):
    """A collections path holding the tarball installed by ansible-galaxy (without its dependencies)."""
    path = tmp_path_factory.mktemp("installed")
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(path),
         str(collection_tarball)],
        capture_output=True, text=True, check=False, cwd=path, env={"PATH": str(BIN) + ":/usr/bin:/bin"},
    )
    assert install.returncode == 0, install.stderr
    return path
