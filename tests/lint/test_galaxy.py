"""galaxy-importer (Galaxy's import of a collection) on the built tarball, configured by galaxy-importer.cfg:
no containers, no ansible-test (tests/lint/test_sanity.py runs it)."""

import json
import pathlib
import subprocess
import sys

BIN = pathlib.Path(sys.executable).parent
CONFIG = pathlib.Path(__file__).with_name("galaxy-importer.cfg")


def test_galaxy_importer_accepts_the_tarball(collection_tarball, tmp_path):
    env = {"GALAXY_IMPORTER_CONFIG": str(CONFIG), "HOME": str(tmp_path), "PATH": "%s:/usr/bin:/bin" % BIN,
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")}
    result = subprocess.run([sys.executable, "-m", "galaxy_importer.main", str(collection_tarball)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=900)
    output = result.stdout + result.stderr
    print(output[-8000:])
    assert result.returncode == 0, output[-4000:]
    problems = [line for line in output.splitlines() if line.startswith(("ERROR", "WARNING"))]
    assert not problems, "\n".join(problems)
    imported = json.loads((tmp_path / "importer_result.json").read_text())
    contents = {(c["content_type"], c["name"]) for c in imported["contents"]}
    for role in ("redis", "sentinel", "keepalived"):
        assert ("role", role) in contents, role
    assert imported["docs_blob"]["collection_readme"]["html"]
    assert {"ansible.posix", "ansible.utils"} <= set(imported["metadata"]["dependencies"])
