"""The collection with each ansible-core of the support matrix (tests/lint/support_matrix.py) and the
collections of the `ansible` package built for it: the tarball installs offline (galaxy.yml's dependency
ranges accept the bundled versions), every option the roles and playbooks pass to a module of a dependency
exists there, every filter and test of ansible.utils they use exists there, and the playbooks parse."""

import json
import pathlib
import re
import subprocess

import pytest
import yaml

from support_matrix import ANSIBLE_CORE, ROOT

DEPENDENCY = re.compile(r"^(ansible\.posix|ansible\.utils|community\.crypto)\.\w+$")
PLUGIN_NAME = re.compile(r"\b(ansible\.utils\.\w+)\b")
SOURCES = sorted(ROOT.glob("roles/*/tasks/*.yml")) + sorted(ROOT.glob("roles/*/handlers/*.yml")) \
    + sorted(ROOT.glob("playbooks/*.yml"))
TEXTS = SOURCES + sorted(ROOT.glob("roles/*/templates/*")) + sorted(ROOT.glob("roles/*/[dv][ea][fr]*/*.yml"))
VERSIONS = sorted(ANSIBLE_CORE)


def _run(version, args, cwd, collections=None):
    bin_dir = ANSIBLE_CORE[version]
    assert (bin_dir / args[0]).exists(), "no ansible-core %s in %s: run make venv" % (version, bin_dir)
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "HOME": str(cwd), "LC_ALL": "C.UTF-8",
           "ANSIBLE_LOCAL_TEMP": str(cwd / "tmp")}
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    result = subprocess.run([str(bin_dir / args[0])] + args[1:], cwd=cwd, env=env, capture_output=True,
                            text=True, check=False, timeout=300)
    return result, result.stdout + result.stderr


@pytest.fixture(scope="module", params=VERSIONS)
def installed(request, collection_tarball, tmp_path_factory):
    """(version, collections path, install output): the tarball installed offline by that ansible-galaxy."""
    work = tmp_path_factory.mktemp("matrix-" + request.param)
    result, output = _run(request.param, ["ansible-galaxy", "collection", "install", "--offline", "-p",
                                          str(work / "collections"), str(collection_tarball)], work)
    assert result.returncode == 0, output
    return request.param, work / "collections", output


def _used_modules():
    """{module FQCN: set of options} over every task of the roles and playbooks."""
    used = {}

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if DEPENDENCY.match(str(key)) and isinstance(value, dict):
                    used.setdefault(key, set()).update(value)
                walk(value)
    for path in SOURCES:
        walk(yaml.safe_load(path.read_text()))
    return used


def _used_plugin_names():
    """ansible.utils names written in the tasks, playbooks, templates, defaults and vars, but not as a module key."""
    names = set()
    for path in TEXTS:
        names.update(PLUGIN_NAME.findall(path.read_text()))
    return names - set(_used_modules())


def test_offline_install_takes_the_bundled_dependencies(installed):
    version, _, output = installed
    for name in ("ansible.posix", "ansible.utils", "community.crypto"):
        assert re.search(r"'%s:[0-9.]+' is already installed" % re.escape(name), output), (version, output)


def test_module_options_exist(installed, tmp_path):
    version, collections, _ = installed
    used = _used_modules()
    assert {"ansible.posix.sysctl", "community.crypto.x509_certificate"} <= set(used), used
    result, output = _run(version, ["ansible-doc", "-t", "module", "-j"] + sorted(used), tmp_path, collections)
    assert result.returncode == 0, output
    docs = json.loads(result.stdout)
    for module, options in used.items():
        known = docs[module]["doc"]["options"]
        names = set(known) | {alias for opt in known.values() for alias in opt.get("aliases", [])}
        assert options <= names, "%s with ansible-core %s: unknown options %s" % (module, version, options - names)


def test_filters_and_tests_exist(installed, tmp_path):
    version, collections, _ = installed
    wanted = _used_plugin_names()
    assert "ansible.utils.ipaddr" in wanted, wanted
    available = set()
    for kind in ("filter", "test"):
        result, output = _run(version, ["ansible-doc", "-t", kind, "-l", "ansible.utils", "--json"], tmp_path,
                              collections)
        assert result.returncode == 0, output
        available |= set(json.loads(result.stdout))
    assert wanted <= available, "ansible-core %s: missing %s" % (version, wanted - available)


def test_playbooks_syntax_check(installed, tmp_path):
    version, collections, _ = installed
    playbooks = [str(path) for path in sorted(ROOT.glob("playbooks/*.yml"))]
    result, output = _run(version, ["ansible-playbook", "--syntax-check", "-i", "localhost,"] + playbooks,
                          tmp_path, collections)
    assert result.returncode == 0, output
