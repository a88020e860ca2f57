"""The sentinel role's runtime-settings script (roles/sentinel/templates/runtime-settings.sh.j2) and its password
file (cli.env.j2), rendered as the role renders them and run with /bin/sh against REAL redis-sentinel processes,
plaintext and TLS-only with client certificates: it sets Sentinel's ping period, says "changed" then "ok", takes
the password from the file (never from argv, quoting intact) and fails with a message when Sentinel refuses it."""

import os
import pathlib
import stat
import subprocess
import time

import pytest

from role_templates import jinja_env
from tls_helpers import call, make_pki, start_tls_redis, start_tls_sentinels
from vipcheck_helpers import ADMIN_PW, SENTINEL_PW, SPECIAL_PW, Proc, free_port, start_redis, vc

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "roles" / "sentinel" / "templates"
REDIS_CLI = "/usr/bin/redis-cli"
PERIOD = 100


def _render(name, **values):
    return jinja_env().from_string((TEMPLATES / name).read_text()).render(dict(values, ansible_managed="managed"))


def _install(tmp_path, port, password, cli_bin=REDIS_CLI, pki=None):
    """The script and its password file as the role writes them (0750 / 0640); the script's path."""
    env_file, script = tmp_path / "sentinel-cli.env", tmp_path / "sentinel-runtime-settings"
    values = dict(sentinel_os={"service": "redis-sentinel", "cli_bin": cli_bin}, sentinel_service="redis-sentinel",
                  sentinel_port=port,
                  sentinel_ping_period_ms=PERIOD, sentinel_runtime_settings_env=str(env_file),
                  sentinel_runtime_settings_script=str(script), sentinel_tls=pki is not None,
                  sentinel_tls_ca_file=pki and pki["ca"], sentinel_tls_cert_file=pki and pki["server_cert"],
                  sentinel_tls_key_file=pki and pki["server_key"], sentinel_password=password)
    env_file.write_text(_render("cli.env.j2", **values))
    env_file.chmod(0o640)
    script.write_text(_render("runtime-settings.sh.j2", **values))
    script.chmod(0o750)
    return script


def _run(script):
    return subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin"})


def _period(reply):
    """ping-period from a SENTINEL DEBUG reply (a flat list of names and values)."""
    fields = dict(zip(reply[::2], reply[1::2]))
    return int({k.decode().lower(): v for k, v in fields.items()}["ping-period"])


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory):
    """A Sentinel whose default user's password holds spaces, both quotes, #, $ and backslashes."""
    base = tmp_path_factory.mktemp("runtime-settings")
    master = start_redis(base / "m")
    port = free_port()
    proc = Proc("sentinel", port, base / "s", ["requirepass %s" % SENTINEL_PW,
                                               "sentinel monitor mymaster 127.0.0.1 %d 2" % master.port,
                                               "sentinel auth-pass mymaster %s" % ADMIN_PW])
    try:
        proc.wait_ready(SENTINEL_PW)
        vc.redis_call("127.0.0.1", port, ["ACL", "SETUSER", "default", "resetpass", ">" + SPECIAL_PW],
                      password=SENTINEL_PW)
        yield proc
    finally:
        proc.terminate()
        master.terminate()


def _debug(port):
    return vc.redis_call("127.0.0.1", port, ["SENTINEL", "DEBUG"], password=SPECIAL_PW)


def test_sets_the_period_then_says_ok(tmp_path, sentinel):
    vc.redis_call("127.0.0.1", sentinel.port, ["SENTINEL", "DEBUG", "ping-period", "1000"], password=SPECIAL_PW)
    script = _install(tmp_path, sentinel.port, SPECIAL_PW)
    first = _run(script)
    assert (first.returncode, first.stdout) == (0, "changed\n"), first.stderr
    assert _period(_debug(sentinel.port)) == PERIOD
    again = _run(script)
    assert (again.returncode, again.stdout) == (0, "ok\n"), again.stderr


def test_password_comes_from_the_file_not_argv(tmp_path, sentinel):
    """The CLI is wrapped by a recorder of its argv: the password never appears there, yet the CLI logs in."""
    record = tmp_path / "argv"
    wrapper = tmp_path / "cli"
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (record, REDIS_CLI))
    wrapper.chmod(0o755)
    vc.redis_call("127.0.0.1", sentinel.port, ["SENTINEL", "DEBUG", "ping-period", "1000"], password=SPECIAL_PW)
    script = _install(tmp_path, sentinel.port, SPECIAL_PW, cli_bin=str(wrapper))
    res = _run(script)
    assert (res.returncode, res.stdout) == (0, "changed\n"), res.stderr
    argv = record.read_text()
    assert "SENTINEL DEBUG ping-period %d" % PERIOD in argv
    assert SPECIAL_PW.strip() not in argv and "-a" not in argv.split()
    assert SPECIAL_PW not in script.read_text()
    assert stat.S_IMODE(os.stat(tmp_path / "sentinel-cli.env").st_mode) == 0o640


def test_a_refused_password_fails_with_a_message(tmp_path, sentinel):
    """redis-cli prints an error reply and exits 0: the script must still fail, without setting anything."""
    res = _run(_install(tmp_path, sentinel.port, "not-the-password"))
    assert res.returncode == 1
    assert res.stdout == ""
    assert "answered without a ping-period: NOAUTH" in res.stderr, res.stderr
    assert "ping-period %d answered" % PERIOD not in res.stderr  # it did not try to set anything


def test_waits_for_a_sentinel_that_is_not_up_yet(tmp_path):
    """After a start (ExecStartPost) the port may not listen yet: the script retries until Sentinel answers."""
    port = free_port()
    script = _install(tmp_path, port, SENTINEL_PW)
    runner = subprocess.Popen(["/bin/sh", str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    late = None
    try:
        time.sleep(1)
        assert runner.poll() is None, "the script gave up on a Sentinel starting after 1 s"
        late = Proc("sentinel", port, tmp_path / "late", ["requirepass %s" % SENTINEL_PW,
                                                          "sentinel monitor mymaster 127.0.0.1 %d 2" % free_port()])
        out, err = runner.communicate(timeout=20)
        assert (runner.returncode, out) == (0, "changed\n"), err
    finally:
        runner.kill()
        if late:
            late.terminate()


def test_over_tls_with_a_client_certificate(tmp_path):
    pki = make_pki(tmp_path / "pki")
    master = start_tls_redis(pki, tmp_path / "m")
    sentinels = start_tls_sentinels(pki, tmp_path, master, 1, quorum=1)
    try:
        call(pki, sentinels[0].port, "SENTINEL", "DEBUG", "ping-period", "1000", password=SENTINEL_PW)
        script = _install(tmp_path, sentinels[0].port, SENTINEL_PW, pki=pki)
        first, again = _run(script), _run(script)
        assert (first.returncode, first.stdout) == (0, "changed\n"), first.stderr
        assert (again.returncode, again.stdout) == (0, "ok\n"), again.stderr
        assert _period(call(pki, sentinels[0].port, "SENTINEL", "DEBUG", password=SENTINEL_PW)) == PERIOD
    finally:
        for proc in sentinels + [master]:
            proc.terminate()
