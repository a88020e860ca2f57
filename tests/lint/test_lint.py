"""Static checks of the collection: ansible-lint (production profile) and a collection build + install."""

import pathlib
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def test_ansible_lint_production_profile():
    result = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--offline", "--nocolor"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    print(result.stdout[-6000:], result.stderr[-6000:])
    assert result.returncode == 0, "ansible-lint reported violations"


def test_collection_builds_and_installs(tmp_path):
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    assert build.returncode == 0, build.stderr
    tarballs = list(tmp_path.glob("redis_ha-sentinel_vip-*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        names = set(tar.getnames())
    for needed in ("roles/redis/tasks/main.yml", "roles/sentinel/tasks/main.yml", "roles/keepalived/tasks/main.yml",
                   "plugins/modules/vip_check.py", "plugins/module_utils/_vip_check.py", "playbooks/site.yml"):
        assert needed in names, needed
    assert not any(n.startswith((".venv", ".cache", "build/")) for n in names)
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", "-p", str(tmp_path / "c"), str(tarballs[0])],
        capture_output=True, text=True, check=False, cwd=tmp_path, env={"PATH": str(BIN) + ":/usr/bin:/bin"},
    )
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "redis_ha.sentinel_vip.vip_check"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "c"), "PATH": str(BIN) + ":/usr/bin:/bin"},
    )
    assert listed.returncode == 0, listed.stderr
    assert "sentinel" in listed.stdout.lower()


def test_readme_variable_reference_matches_argument_specs():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "var-reference.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_default_is_in_argument_specs_and_commented():
    import yaml

    for role in ("redis", "sentinel", "keepalived"):
        lines = (ROOT / "roles" / role / "defaults" / "main.yml").read_text().splitlines()
        defaults = yaml.safe_load("\n".join(lines)) or {}
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options = spec["argument_specs"]["main"]["options"]
        for name in defaults:
            assert name.startswith(role + "_"), name
            assert name in options, "%s: %s has no argument spec" % (role, name)
            index = next(i for i, line in enumerate(lines) if line.startswith(name + ":"))
            assert lines[index - 1].startswith("# "), "%s: %s has no comment" % (role, name)
