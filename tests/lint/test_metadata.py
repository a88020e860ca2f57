"""Release metadata agrees with itself and with the support matrix the suite tests (support_matrix.py):
meta/runtime.yml, galaxy.yml, every role's meta/main.yml, the README's "Support matrix", the EE definition and
the pinned requirements name the same ansible-core versions and Debian releases; version_added strings and the
changelog agree with galaxy.yml's version."""

import pathlib
import re

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from support_matrix import ANSIBLE_CORE, PLATFORMS, ROOT

MINORS = sorted(ANSIBLE_CORE, key=Version)
DEBIAN = {"bookworm": "12", "trixie": "13"}
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())


def _readme_matrix():
    """{row: cell} of the README's support matrix table."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Support matrix"):]
    section = section[:section.index("\n### ", 1)]
    return {cells[0].strip(): cells[1].strip() for cells in
            (line.strip("|").split("|", 1) for line in section.splitlines() if line.startswith("| "))}


def _in_words(versions):
    return " and ".join(versions)


def test_requires_ansible_admits_exactly_the_tested_minors():
    spec = SpecifierSet(RUNTIME["requires_ansible"])
    first, last = Version(MINORS[0]), Version(MINORS[-1])
    for minor in MINORS:
        assert Version(minor + ".0") in spec and Version(minor + ".99") in spec, minor
    assert Version("%d.%d.99" % (first.major, first.minor - 1)) not in spec, "admits a minor below the matrix"
    assert Version("%d.%d.0" % (last.major, last.minor + 1)) not in spec, "admits a minor above the matrix"


def test_galaxy_description_states_the_matrix():
    description = " ".join(GALAXY["description"].split())
    assert "ansible-core %s;" % _in_words(MINORS) in description, description
    for codename, number in DEBIAN.items():
        assert "Debian %s (%s)" % (number, codename) in description, description


@pytest.mark.parametrize("role", sorted(path.parent.parent.name for path in ROOT.glob("roles/*/meta/main.yml")))
def test_role_metadata(role):
    info = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())["galaxy_info"]
    assert {p["name"]: tuple(p["versions"]) for p in info["platforms"]} == PLATFORMS, role
    assert str(info["min_ansible_version"]) == MINORS[0], role


def test_readme_support_matrix():
    rows = _readme_matrix()
    assert rows["ansible-core"].startswith(_in_words(MINORS) + " "), rows["ansible-core"]
    assert "`%s`" % RUNTIME["requires_ansible"] in rows["ansible-core"], rows["ansible-core"]
    nodes = rows["managed nodes"]
    assert [int(n) for n in re.findall(r"Debian (\d+)", nodes)] == sorted(int(n) for n in DEBIAN.values()), nodes
    for codename in PLATFORMS["Debian"]:
        assert codename in nodes, nodes


def test_execution_environment_and_pins():
    ee = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    last = Version(MINORS[-1])
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core>=%s,<%d.%d" % (
        MINORS[0], last.major, last.minor + 1)
    pins = {"2.19": "requirements.txt", "2.18": "requirements-ansible-2.18.txt"}
    assert set(pins) == set(MINORS), "a matrix version without its pinned requirements"
    for minor, name in pins.items():
        pin = re.search(r"^ansible-core==(\S+)", (ROOT / name).read_text(), re.M).group(1)
        assert pin.startswith(minor + "."), (name, pin)


def _version_added():
    found = {}
    for path in sorted(ROOT.glob("plugins/*/*.py")):
        match = re.search(r"^version_added: ['\"]?([\d.]+)['\"]?$", path.read_text(), re.M)
        if match:
            found[str(path.relative_to(ROOT))] = match.group(1)
    return found


def test_versions_agree_with_the_changelog():
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
    released = set(changes.get("releases", {}))
    version = GALAXY["version"]
    fragments = [p.name for p in (ROOT / "changelogs" / "fragments").glob("*.yml")]
    if version in released:
        assert not fragments, "galaxy.yml's %s is released; fragments wait for no release: %s" % (version, fragments)
    allowed = released | {version}
    wrong = {path: added for path, added in _version_added().items() if added not in allowed}
    assert not wrong, "version_added neither released nor galaxy.yml's %s: %s" % (version, wrong)
    assert _version_added(), "no version_added found"
