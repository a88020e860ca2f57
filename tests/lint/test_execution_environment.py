"""The execution environment definition meta/execution-environment.yml (ansible-builder 3): `ansible-builder
create` turns it into a build context (no container build: no image registry here) holding the local tarball
on the pinned base, and ansible-builder's introspection of the installed collection finds the same
dependencies (what happens when any execution environment installs it)."""

import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def _builder(args, cwd):
    result = subprocess.run([str(BIN / "ansible-builder")] + args, cwd=cwd, capture_output=True, text=True,
                            check=False, timeout=300, env={"PATH": "%s:/usr/bin:/bin" % BIN, "HOME": str(cwd)})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_ansible_builder_creates_a_build_context(collection_tarball, tmp_path):
    # The definition as in the repository, next to a build/ holding the tarball (make collection's place).
    shutil.copytree(ROOT / "meta", tmp_path / "src" / "meta")
    (tmp_path / "src" / "build").mkdir()
    shutil.copy(collection_tarball, tmp_path / "src" / "build")
    _builder(["create", "-f", str(tmp_path / "src" / "meta" / "execution-environment.yml"), "--context",
              str(tmp_path / "ctx"), "--output-filename", "Containerfile"], tmp_path)
    build = tmp_path / "ctx" / "_build"
    containerfile = (tmp_path / "ctx" / "Containerfile").read_text()
    base = re.search(r'^ARG EE_BASE_IMAGE="(.+)"$', containerfile, re.M).group(1)
    assert re.fullmatch(r"docker\.io/redhat/ubi9:9\.\d+", base), "base image not pinned to a release: " + base
    assert "ansible-core>=2.18,<2.20" in containerfile
    assert "netaddr" in (build / "requirements.txt").read_text()
    assert "openssh-clients" in (build / "bindep.txt").read_text()
    assert (build / "collections" / collection_tarball.name).read_bytes() == collection_tarball.read_bytes()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": "/build/collections/redis_ha-sentinel_vip.tar.gz", "type": "file"}]
    assert containerfile.index("redis_ha-sentinel_vip.tar.gz") < containerfile.index("ansible-galaxy collection install")


def test_introspection_of_the_installed_collection(installed_collections, tmp_path):
    found = yaml.safe_load(_builder(["introspect", str(installed_collections)], tmp_path))
    assert any(line.startswith("netaddr") for line in found["python"]), found
    assert any(line.startswith("openssh-clients") for line in found["system"]), found
