"""The execution environment definition meta/execution-environment.yml (ansible-builder 3): `ansible-builder
create` turns it into a build context (no container build), and ansible-builder's introspection of the
installed collection finds the same dependencies (what happens when any execution environment installs it)."""

import pathlib
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


def test_ansible_builder_creates_a_build_context(tmp_path):
    _builder(["create", "-f", str(ROOT / "meta" / "execution-environment.yml"), "--context", str(tmp_path / "ctx"),
              "--output-filename", "Containerfile"], tmp_path)
    build = tmp_path / "ctx" / "_build"
    containerfile = (tmp_path / "ctx" / "Containerfile").read_text()
    assert "docker.io/redhat/ubi9" in containerfile and "ansible-core" in containerfile
    assert "netaddr" in (build / "requirements.txt").read_text()
    assert "openssh-clients" in (build / "bindep.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["redis_ha.sentinel_vip"]


def test_introspection_of_the_installed_collection(installed_collections, tmp_path):
    found = yaml.safe_load(_builder(["introspect", str(installed_collections)], tmp_path))
    assert any(line.startswith("netaddr") for line in found["python"]), found
    assert any(line.startswith("openssh-clients") for line in found["system"]), found
