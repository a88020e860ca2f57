"""The track script as the keepalived role installs it: the launcher roles/keepalived/files/vip_check.py
next to the package redis_vip_check/ (= plugins/module_utils/_vipcheck/), byte-compiled the way the role's
handler does it. Real processes (conftest)."""

import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import NODE_PYTHON, base_cfg, deploy_check, write_cfg  # noqa: E402


def _deploy(tmp_path):
    d = deploy_check(tmp_path / "redis-vip-check").parent
    subprocess.run([NODE_PYTHON, "-m", "compileall", "-q", str(d / "redis_vip_check")], check=True)
    return d


def _run(d, cfg):
    # -v: the import system says where the code object came from.
    return subprocess.run([NODE_PYTHON, "-v", "-IS", str(d / "vip_check.py"), str(cfg)], capture_output=True,
                          text=True, timeout=20, check=False)


def test_launcher_runs_the_check_from_its_byte_compiled_copy(tmp_path, cluster):
    d = _deploy(tmp_path)
    master = write_cfg(tmp_path / "m.conf", **base_cfg(cluster))
    replica = write_cfg(tmp_path / "r.conf", **base_cfg(cluster, node=cluster.replica))
    run = _run(d, master)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "code object from '%s" % (d / "redis_vip_check" / "__pycache__" / "cli.") in run.stderr
    assert _run(d, replica).returncode == 1
    usage = subprocess.run([NODE_PYTHON, "-IS", str(d / "vip_check.py")], capture_output=True, text=True,
                           timeout=20, check=False)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_launcher_falls_back_to_the_source_when_the_cache_is_stale(tmp_path, cluster):
    d = _deploy(tmp_path)
    src = d / "redis_vip_check" / "cli.py"
    st = src.stat()
    os.utime(src, (st.st_atime, st.st_mtime + 10))  # the source changed after compiling
    run = _run(d, write_cfg(tmp_path / "m.conf", **base_cfg(cluster)))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "code object from '%s" % (d / "redis_vip_check" / "__pycache__" / "cli.") not in run.stderr
