"""The keepalived role's notify FIFO reader (roles/keepalived/files/notify_hooks.py), run as keepalived runs it
(vrrp_notify_fifo_script): a real FIFO held open read-write the way keepalived holds it, real hook scripts.
Hooks run in the configured order, one event after the other; events that are no state change are not
passed on; a hook keepalived's script security would refuse is skipped; after SIGTERM the reader still
passes on the STOP events keepalived writes before it closes the FIFO, then exits."""

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
READER = ROOT / "roles" / "keepalived" / "files" / "notify_hooks.py"
_spec = importlib.util.spec_from_file_location("notify_hooks", READER)
notify_hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notify_hooks)

HOOK = """#!/bin/sh
sleep {sleep}
echo "{tag} $*" >> {out}
"""


def _script(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def secure_dir():
    """A root-owned 0700 directory below the checkout (script security refuses /tmp: others may write there)."""
    if os.geteuid() != 0 or notify_hooks.insecure(str(ROOT / "build")):
        pytest.skip("needs root and a checkout whose directories only root may write")
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build", prefix="hooks-") as path:
        yield pathlib.Path(path)


def _wait_lines(out, count, timeout_s=10):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        lines = out.read_text().splitlines() if out.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return out.read_text().splitlines() if out.exists() else []


def test_hooks_run_in_order_once_per_state_change(secure_dir, tmp_path):
    out = secure_dir / "calls"
    first = _script(secure_dir / "first", HOOK.format(sleep="0.3", tag="first", out=out))  # slow: order must hold
    second = _script(secure_dir / "second", HOOK.format(sleep="0", tag="second", out=out))
    unsafe = _script(tmp_path / "unsafe", HOOK.format(sleep="0", tag="unsafe", out=out))  # below /tmp
    config = secure_dir / "hooks.conf"
    config.write_text("# test\ntimeout_s=5\nhook=%s\nhook=%s\nhook=%s\n" % (first, unsafe, second))
    fifo = secure_dir / "notify.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen([sys.executable, "-IS", str(READER), str(config), str(fifo)])
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # as keepalived opens it, after starting the reader
    try:
        for line in ('INSTANCE "redis_vip_51" FAULT 100', 'INSTANCE "redis_vip_51" MASTER_PRIORITY 100',
                     'INSTANCE "redis_vip_51" MASTER 100', "garbage \"", 'GROUP "g" BACKUP 0'):
            os.write(writer, (line + "\n").encode())
        assert _wait_lines(out, 6) == [
            "first INSTANCE redis_vip_51 FAULT 100", "second INSTANCE redis_vip_51 FAULT 100",
            "first INSTANCE redis_vip_51 MASTER 100", "second INSTANCE redis_vip_51 MASTER 100",
            "first GROUP g BACKUP 0", "second GROUP g BACKUP 0"]
        # shutdown as keepalived does it: SIGTERM, then the STOP events, then the FIFO is removed and closed
        reader.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        os.write(writer, b'INSTANCE "redis_vip_51" STOP 100\n')
        os.unlink(fifo)
    finally:
        os.close(writer)
    assert reader.wait(timeout=10) == 0
    assert out.read_text().splitlines()[6:] == ["first INSTANCE redis_vip_51 STOP 100",
                                                "second INSTANCE redis_vip_51 STOP 100"]


def test_reader_waiting_for_keepalived_exits_on_sigterm(secure_dir):
    config = secure_dir / "hooks.conf"
    config.write_text("timeout_s=5\n")
    fifo = secure_dir / "notify.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen([sys.executable, "-IS", str(READER), str(config), str(fifo)])
    time.sleep(0.5)  # blocked opening the FIFO: keepalived died before opening it
    reader.send_signal(signal.SIGTERM)
    assert reader.wait(timeout=10) == 0


def test_script_security_rules(secure_dir, tmp_path):
    hook = _script(secure_dir / "hook", "#!/bin/sh\n")
    assert notify_hooks.insecure(str(hook)) is None
    hook.chmod(0o775)
    assert "writable by group or others" in notify_hooks.insecure(str(hook))
    assert "writable by group or others" in notify_hooks.insecure(str(_script(tmp_path / "h", "#!/bin/sh\n")))
    assert "No such file" in notify_hooks.insecure(str(secure_dir / "missing"))
