"""The vipcheck_outdated filter against what the real ansible.builtin.find module reports (run here as a
module on a temporary directory): the roles copy only the check's files that are missing or differ."""

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "module_utils" / "_vipcheck"
spec = importlib.util.spec_from_file_location("vipcheck_outdated", ROOT / "plugins" / "filter" / "vipcheck_outdated.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)


def find(directory, tmp_path):
    """files of ansible.builtin.find on directory, as the roles call it (patterns *.py, get_checksum)."""
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"paths": [str(directory)], "patterns": ["*.py"],
                                                        "get_checksum": True}}))
    out = subprocess.run([sys.executable, "-m", "ansible.modules.find", str(args)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return json.loads(out)["files"]


def test_package_files_are_the_sources_only():
    names = [os.path.basename(p) for p in module.package_files()]
    assert names == sorted(p.name for p in PACKAGE.glob("*.py")) and "__init__.py" in names and len(names) > 5


def test_only_missing_or_different_files_are_copied(tmp_path):
    dest = tmp_path / "redis_vip_check"
    dest.mkdir()
    everything = module.package_files()
    assert module.vipcheck_outdated(find(dest, tmp_path), str(dest)) == everything  # a new node: all of them

    for src in everything:
        shutil.copy(src, dest)
        os.chmod(dest / os.path.basename(src), 0o644)
    (dest / "__pycache__").mkdir()  # byte-compiled copies on the node are no reason to copy
    assert module.vipcheck_outdated(find(dest, tmp_path), str(dest)) == []  # converged: nothing to copy

    changed, loose = everything[0], everything[-1]
    with open(dest / os.path.basename(changed), "a", encoding="utf-8") as handle:
        handle.write("# edited on the node\n")
    os.chmod(dest / os.path.basename(loose), 0o666)
    (dest / os.path.basename(everything[1])).unlink()
    assert module.vipcheck_outdated(find(dest, tmp_path), str(dest)) == [changed, everything[1], loose]
