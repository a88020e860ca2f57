"""Helpers for the tests of the redis_config / sentinel_config modules (test_config_modules.py).

Processes are REAL redis-server / redis-sentinel on loopback, started with vipcheck_helpers.Proc (its
config file is the file the daemon rewrites). The modules run through ansible-playbook with a temporary
ANSIBLE_COLLECTIONS_PATH whose ansible_collections/redis_ha/sentinel_vip is a symlink to this working
tree, so the code under test is the checked-out one. The same symlinked tree on sys.path lets the tests
import the modules' pure functions.
"""

import base64
import importlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from vipcheck_helpers import ROOT, Proc, free_port, vc  # noqa: F401  (re-exported for the tests)

_COLLECTIONS = None


def collections_dir(base=None):
    """A directory holding ansible_collections/redis_ha/sentinel_vip -> the working tree (created once)."""
    global _COLLECTIONS
    if _COLLECTIONS is None:
        base = pathlib.Path(base or tempfile.mkdtemp(prefix="confmod-collections-"))
        ns = base / "ansible_collections" / "redis_ha"
        ns.mkdir(parents=True, exist_ok=True)
        link = ns / "sentinel_vip"
        if not link.exists():
            link.symlink_to(ROOT, target_is_directory=True)
        _COLLECTIONS = base
    return _COLLECTIONS


def import_plugin(name):
    """Import plugins/modules/<name>.py of the working tree as the collection's module."""
    path = str(collections_dir())
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("ansible_collections.redis_ha.sentinel_vip.plugins.modules." + name)


def ansible_playbook():
    candidate = pathlib.Path(sys.executable).parent / "ansible-playbook"
    if candidate.exists():
        return str(candidate)
    return shutil.which("ansible-playbook")


def run_playbook(tmp, playbook_text, extra_vars, verbosity="-vvv", timeout=120, inventory=None):
    """Run one playbook on the implicit localhost (or on an inventory file); returns (CompletedProcess, combined
    output)."""
    tmp = pathlib.Path(tmp)
    (tmp / "ansible.cfg").write_text("[defaults]\n")
    (tmp / "play.yml").write_text(playbook_text)
    (tmp / "vars.json").write_text(json.dumps(extra_vars))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(collections_dir()),
               ANSIBLE_HOME=str(tmp / "home"), ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    args = [ansible_playbook()] + ([verbosity] if verbosity else []) + (["-i", str(inventory)] if inventory else []) + [
        "-e", "@" + str(tmp / "vars.json"), str(tmp / "play.yml")]
    proc = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, proc.stdout + proc.stderr


def slurped(result):
    """Text of an ansible.builtin.slurp result."""
    return base64.b64decode(result["content"]).decode("utf-8", "replace")


def call(port, *args, password=None):
    return vc.resp_to_text(vc.redis_call("127.0.0.1", port, list(args), password=password, timeout=5))


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def start_redis(workdir, password, extra=()):
    proc = Proc("redis", free_port(), pathlib.Path(workdir), ["requirepass %s" % password] + list(extra))
    return proc.wait_ready(password)


def start_sentinel(workdir, password, master_name, master_port, master_password, extra=()):
    lines = ["requirepass %s" % password,
             "sentinel monitor %s 127.0.0.1 %d 2" % (master_name, master_port),
             "sentinel auth-pass %s %s" % (master_name, master_password),
             "sentinel down-after-milliseconds %s 600000" % master_name,
             "sentinel failover-timeout %s 600000" % master_name] + list(extra)
    proc = Proc("sentinel", free_port(), pathlib.Path(workdir), lines)
    return proc.wait_ready(password)
