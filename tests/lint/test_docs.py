"""Documentation and changelog as the Ansible docsite tools see them: antsibull-docs (plugin and role docs,
extra docs) and antsibull-changelog (fragments, changelog.yaml, the generated CHANGELOG.md)."""

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
ENV = {"PATH": "%s:/usr/bin:/bin" % BIN, "LC_ALL": "C.UTF-8"}


def _run(args, cwd):
    result = subprocess.run([str(BIN / args[0])] + args[1:], cwd=cwd, env=dict(ENV, HOME=str(cwd)),
                            capture_output=True, text=True, check=False, timeout=600)
    return result, (result.stdout + result.stderr).strip()


def test_antsibull_docs_lint_collection_docs(tmp_path):
    result, output = _run(["antsibull-docs", "lint-collection-docs", "--plugin-docs", str(ROOT)], tmp_path)
    assert result.returncode == 0 and not output, output


def test_antsibull_changelog_lint():
    result, output = _run(["antsibull-changelog", "lint"], ROOT)
    assert result.returncode == 0 and not output, output


def test_changelog_md_is_generated_from_changelog_yaml(tmp_path):
    shutil.copy(ROOT / "galaxy.yml", tmp_path)
    shutil.copytree(ROOT / "changelogs", tmp_path / "changelogs")
    result, output = _run(["antsibull-changelog", "generate"], tmp_path)
    assert result.returncode == 0, output
    assert (tmp_path / "CHANGELOG.md").read_text() == (ROOT / "CHANGELOG.md").read_text(), \
        "CHANGELOG.md is not what antsibull-changelog generate writes from changelogs/"
