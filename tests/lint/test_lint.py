"""Static checks of the collection: ansible-lint (production profile) and a collection build + install."""

import json
import pathlib
import re
import subprocess
import sys
import tarfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
ROLES = ("redis", "sentinel", "keepalived", "metrics")


def test_ansible_lint_production_profile():
    """`ansible-lint` exactly as the README tells a contributor: .ansible-lint sets the production profile and
    no network; ansible.cfg finds the collection (.config/collections links to the checkout)."""
    result = subprocess.run([str(BIN / "ansible-lint"), "--nocolor"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    print(result.stdout[-6000:], result.stderr[-6000:])
    assert result.returncode == 0, "ansible-lint reported violations"
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


# What the tarball may hold: user content only (galaxy.yml build_ignore keeps the rest out).
SHIPPED_DIRS = ("roles/", "plugins/", "playbooks/", "meta/", "changelogs/", "inventories/example/", "tests/sanity/",
                "prometheus/", "docs/docsite/")  # antsibull-docs reads docs/docsite/links.yml
SHIPPED_FILES = {"README.md", "CHANGELOG.md", "LICENSE", "MANIFEST.json", "FILES.json",
                 "bindep.txt", "ee-requirements.txt"}  # links to meta/ (meta/execution-environment.yml)


def test_collection_builds_and_installs(collection_tarball, installed_collections, tmp_path):
    with tarfile.open(collection_tarball) as tar:
        names = set(tar.getnames())
    for needed in ("roles/redis/tasks/main.yml", "roles/sentinel/tasks/main.yml", "roles/keepalived/tasks/main.yml",
                   "plugins/modules/vip_check.py", "plugins/module_utils/_vipcheck/cli.py", "playbooks/site.yml",
                   "LICENSE", "README.md", "inventories/example/hosts.yml"):
        assert needed in names, needed
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed_collections), "PATH": str(BIN) + ":/usr/bin:/bin"}
    listed = subprocess.run([str(BIN / "ansible-doc"), "-t", "module", "redis_ha.sentinel_vip.vip_check"],
                            capture_output=True, text=True, check=False, cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "sentinel" in listed.stdout.lower()
    for role in ROLES:  # what `ansible-doc -t role` shows a user: every default, the entry point described
        doc = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "-j", "redis_ha.sentinel_vip." + role],
                             capture_output=True, text=True, check=False, cwd=tmp_path, env=env)
        assert doc.returncode == 0, doc.stderr
        main = json.loads(doc.stdout)["redis_ha.sentinel_vip." + role]["entry_points"]["main"]
        assert main.get("description") and main.get("short_description"), role
        shown = {name: option.get("default") for name, option in main["options"].items()}
        expected = _documented_defaults(role)
        assert {name: shown.get(name) for name in expected} == expected, role


def test_tarball_holds_no_development_content(collection_tarball):
    with tarfile.open(collection_tarball) as tar:
        files = [m.name for m in tar.getmembers() if not m.isdir()]
    strays = [name for name in files
              if name not in SHIPPED_FILES and not name.startswith(SHIPPED_DIRS)
              and not (name.startswith("docs/") and name.count("/") == 1 and name.endswith(".md"))]
    assert not strays, "development content in the tarball (galaxy.yml build_ignore): %s" % strays
    assert "docs/infrastructure.md" not in files  # the lab's Docker set-up, not the collection's


def test_variable_reference_matches_argument_specs():
    """docs/variables.md is what scripts/var-reference.py makes of the roles' argument specs and defaults."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "var-reference.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# An int or bool option whose default falls back on another variable: '{{ redis_port | default(6379) }}', or on its
# group's entry first (docs/group-model.md): '{{ redis_group_entry.redis_port | default(redis_ha_redis_port | default(6379)) }}'.
FALLBACK = re.compile(r"^\{\{ (?:\w+_group_entry\.\w+ \| default\()?(\w+) \| default\((\w+)\)\)? \}\}$")


def _defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def _documented_defaults(role):
    """What argument_specs must document for each value of defaults/main.yml: the value itself, except for an
    int or bool option defaulting to '{{ var | default(N) }}' (a template is no int or bool for ansible-test and
    antsibull-docs): N, with var named in the description."""
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    expected = {}
    for name, value in _defaults(role).items():
        match = FALLBACK.match(value) if isinstance(value, str) and options[name].get("type") in ("int", "bool") else None
        if match:
            assert match.group(1) in options[name]["description"], name
            value = yaml.safe_load(match.group(2))
        expected[name] = value
    return expected


def test_every_default_is_in_argument_specs_and_commented():
    for role in ROLES:
        lines = (ROOT / "roles" / role / "defaults" / "main.yml").read_text().splitlines()
        defaults = _defaults(role)
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options = spec["argument_specs"]["main"]["options"]
        for name in defaults:
            assert name.startswith(role + "_"), name
            assert name in options, "%s: %s has no argument spec" % (role, name)
            index = next(i for i, line in enumerate(lines) if line.startswith(name + ":"))
            assert lines[index - 1].startswith("# "), "%s: %s has no comment" % (role, name)
        # argument_specs documents the defaults (ansible-doc -t role); defaults/main.yml sets them
        documented = {name: option["default"] for name, option in options.items() if "default" in option}
        assert documented == _documented_defaults(role), "%s: argument_specs defaults differ from defaults/main.yml" % role


# The collection's private role (roles/_common): what the public roles share instead of reaching into each other.
COMMON = ROOT / "roles" / "_common"
ROLE_INCLUDE = re.compile(r"^\s*(?:-\s+)?(?:ansible\.builtin\.)?(?:include_role|import_role):", re.M)
ROLE_NAME = re.compile(r"^\s+name:\s*[\"']?(?:redis_ha\.sentinel_vip\.)?([\w.]+)", re.M)


def _role_includes(path):
    """The roles a task file includes or imports (include_role, import_role; the name on the lines below)."""
    text = path.read_text()
    names = []
    for match in ROLE_INCLUDE.finditer(text):
        found = ROLE_NAME.search(text, match.end())
        names.append(found.group(1) if found else "?")
    return names


def test_no_public_role_includes_another():
    """No include_role/import_role from one public role into another (issue 27): what they share is in _common.
    A role's meta dependencies count too."""
    public = {path.name for path in (ROOT / "roles").iterdir() if path.is_dir() and not path.name.startswith("_")}
    assert set(ROLES) <= public
    found = []
    for path in sorted((ROOT / "roles").glob("*/**/*.yml")):
        role = path.relative_to(ROOT / "roles").parts[0]
        for name in _role_includes(path):
            if name != "_common" and name != role:
                found.append("%s -> %s" % (path.relative_to(ROOT), name))
    for role in public | {"_common"}:
        meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text()) or {}
        for dep in meta.get("dependencies") or []:
            name = (dep.get("role") or dep.get("name")) if isinstance(dep, dict) else dep
            if name.split(".")[-1] not in ("_common", role):
                found.append("roles/%s/meta/main.yml -> %s" % (role, name))
    assert not found, "a public role reaches into another (move the shared tasks to roles/_common): %s" % found


def test_the_check_sees_a_role_include():
    """The check above finds both spellings (a guard against a regex that matches nothing)."""
    sample = ROOT / "roles" / "sentinel" / "tasks" / "endpoint.yml"
    assert _role_includes(sample) == ["_common"]
    assert [name for path in (ROOT / "roles" / "redis" / "tasks").glob("*.yml") for name in _role_includes(path)]


def test_common_names_its_variables_with_its_prefix():
    """roles/_common's variables start with _common_ (ansible-lint's var-naming[no-role-prefix] cannot check a role
    whose name starts with an underscore; .ansible-lint-ignore lists its files for that rule only). sentinel_endpoint
    is the one documented fact it sets for the other nodes and the playbooks."""
    names = set()
    for part in ("defaults", "vars"):
        names |= set(yaml.safe_load((COMMON / part / "main.yml").read_text()) or {})
    for path in (COMMON / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            for item in [task] + task.get("block", []):
                names |= set(item.get("ansible.builtin.set_fact", {}) or {})
                names |= set(item.get("vars", {}) or {})
                if "register" in item:
                    names.add(item["register"])
    spec = yaml.safe_load((COMMON / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry in spec.values():
        names |= set(entry["options"])
    strays = sorted(name for name in names - {"sentinel_endpoint"} if not name.startswith("_common_"))
    assert not strays, strays
    defaults = yaml.safe_load((COMMON / "defaults" / "main.yml").read_text())
    options = set().union(*(entry["options"] for entry in spec.values()))
    # _common_announce_ip: the one default of the public roles' announce options, read through their dependency on
    # _common (no entry point: validating it would need the default route where a role's own option is set)
    lines = (COMMON / "defaults" / "main.yml").read_text().splitlines()
    for name in defaults:  # each default with its comment, as in the public roles
        index = next(i for i, line in enumerate(lines) if line.startswith(name + ":"))
        assert lines[index - 1].startswith("# "), "roles/_common: %s has no comment" % name
    strays = set(defaults) - options - {"_common_announce_ip"}
    assert not strays, "a default of roles/_common without an option in an entry point: %s" % strays
    ignored = [line.split() for line in (ROOT / ".ansible-lint-ignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert all(path.startswith("roles/_common/") and rule == "var-naming[no-role-prefix]" for path, rule in ignored), ignored


# Issue 27's aim "no group-wide value derived in more than one place", for the values step 2 resolves once: where
# each may be spelled (a grep over the roles, the playbooks and the plugins; argument_specs only document defaults).
ONE_DEFINITION = {
    "the default announce address": (
        re.compile(r"default\(ansible_facts\[.default_ipv4.\]\[.address.\]\)"),
        {"roles/_common/defaults/main.yml"}),
    "a VIP without its prefix": (
        re.compile(r"regex_replace.{1,3}'/\.\*\$'|ip_interface\(|\.split\(\"/\"|ipaddr\('address'\)"),
        {"plugins/plugin_utils/vip.py",
         # left: the keepalived role's checks parse each VIP with ansible.utils to test it (unicast, subnet, own
         # address); group_problems' check of a further group's VIP (its subnet too); the status view; the
         # check's own settings parser (it runs on the node, without the collection)
         "roles/keepalived/tasks/validate.yml", "plugins/filter/group_problems.py", "plugins/filter/status_report.py",
         "plugins/module_utils/_vipcheck/settings.py"}),
    "the Sentinel endpoint string (host:port, IPv6 in brackets)": (
        re.compile(r"sentinel_endpoint:\s*\"\{\{(?!.*host_port\()"),
        set()),
    "the host:port form": (
        re.compile(r"def host_port\("),
        {"plugins/filter/host_port.py"}),
}


def test_each_resolved_value_has_one_definition():
    files = [path for pattern in ("roles/**/*.yml", "roles/**/*.j2", "playbooks/**/*.yml", "plugins/**/*.py")
             for path in ROOT.glob(pattern) if not path.name == "argument_specs.yml"]
    for what, (pattern, allowed) in ONE_DEFINITION.items():
        found = {str(path.relative_to(ROOT)) for path in files if pattern.search(path.read_text())}
        assert found <= allowed, "%s is derived again in %s" % (what, sorted(found - allowed))
    assert len([p for p in files if "sentinel_endpoint: \"{{" in p.read_text()]) == 2  # this node's, absent members'
    defaults = [path for path in ROOT.glob("roles/*/defaults/main.yml") if "_common_announce_ip }}" in path.read_text()]
    assert len(defaults) == 4, defaults  # redis, sentinel, keepalived (both addresses), metrics read the one default
