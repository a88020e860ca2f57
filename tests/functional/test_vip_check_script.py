"""The track script as keepalived runs it: `python3 -IS vip_check.py CONFIG` (the launcher), judged by its exit code,
against real redis-server / redis-sentinel processes (see conftest.py)."""

import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from vipcheck_helpers import (  # noqa: E402
    ADMIN_PW, CHECK_PW, NODE_PYTHON, NOPERM_PW, NOPERM_USER, SENTINEL_SPECIAL_USER,
    SPECIAL_PW, SPECIAL_USER, VIP_CHECK, CHECK_SCRIPT, LAUNCHER, base_cfg, run_check, sentinel_list, vc, write_cfg,
)

SLACK_S = 1.2  # generous: interpreter start-up on a loaded CI machine


def check(tmp_path, cluster, node=None, name="check.conf", **over):
    cfg = write_cfg(tmp_path / name, **base_cfg(cluster, node, **over))
    return run_check(cfg)


def evaluate(cluster, node=None, complete=True, **over):
    raw = {k: str(v) for k, v in base_cfg(cluster, node, **over).items() if v is not None}
    return vc.evaluate(vc.build_settings(raw), complete=complete)


def ports(cluster, *idx):
    return [cluster.sentinels[i].port for i in idx]


# --- the basic verdicts ----------------------------------------------------------------------------

def test_master_named_by_sentinel_majority_promotes(tmp_path, cluster):
    rc, elapsed, err = check(tmp_path, cluster)
    assert rc == 0, err
    assert err == ""
    assert elapsed < 0.5 + SLACK_S
    res = evaluate(cluster)
    assert res["promote"] and res["agreeing"] == 3 and res["required"] == 2
    assert res["redis"]["role"] == "master"
    assert [r["address"] for r in res["redis"]["replicas"]] == ["127.0.0.1:%d" % cluster.replica.port]


def test_replica_demotes(tmp_path, cluster):
    rc, _, err = check(tmp_path, cluster, node=cluster.replica)
    assert rc == 1, err
    res = evaluate(cluster, node=cluster.replica)
    assert not res["promote"]
    assert res["redis"]["role"] == "slave"
    assert res["redis"]["master_address"] == "127.0.0.1:%d" % cluster.master.port
    assert res["redis"]["link_status"] == "connected"
    assert res["agreeing"] == 0  # the Sentinels name the master, not this replica
    assert all(s["status"] == "other_master" for s in res["sentinels"])


def test_stale_master_that_sentinels_do_not_name_demotes(tmp_path, cluster):
    # cluster.stale answers ROLE master, but every Sentinel names cluster.master.
    rc, _, err = check(tmp_path, cluster, node=cluster.stale)
    assert rc == 1, err
    res = evaluate(cluster, node=cluster.stale)
    assert res["redis"]["master"] is True
    assert res["agreeing"] == 0
    assert {s["master"] for s in res["sentinels"]} == {"127.0.0.1:%d" % cluster.master.port}
    assert "names 127.0.0.1:%d" % cluster.master.port in res["reason"]


def test_wrong_announce_port_demotes(tmp_path, cluster):
    # Same address, other port: the port is compared too.
    rc, _, err = check(tmp_path, cluster, announce_port=cluster.master.port + 1)
    assert rc == 1, err


def test_unknown_master_name_nil_reply_demotes(tmp_path, cluster):
    rc, _, err = check(tmp_path, cluster, master_name="no-such-master")
    assert rc == 1, err
    res = evaluate(cluster, master_name="no-such-master")
    assert {s["status"] for s in res["sentinels"]} == {"unknown_master"}


# --- Sentinel agreement ------------------------------------------------------------------------

def test_only_a_minority_of_sentinels_reachable_demotes(tmp_path, cluster):
    # 1 of 3 configured Sentinels reachable (the two others refuse connections).
    sents = " ".join([sentinel_list(ports(cluster, 0)), "127.0.0.1:%d" % cluster.dead_port,
                      "[::1]:%d" % cluster.dead_port if cluster.ipv6 else "127.0.0.2:%d" % cluster.dead_port])
    rc, _, err = check(tmp_path, cluster, sentinels=sents)
    assert rc == 1, err
    # Same setup, but one agreeing Sentinel is declared enough: promote. So the count decided.
    rc, _, err = check(tmp_path, cluster, sentinels=sents, agreement="1")
    assert rc == 0, err


def test_agreement_all_versus_majority(tmp_path, cluster):
    two_of_three = "%s 127.0.0.1:%d" % (sentinel_list(ports(cluster, 0, 1)), cluster.dead_port)
    assert check(tmp_path, cluster, sentinels=two_of_three, agreement="majority")[0] == 0
    assert check(tmp_path, cluster, sentinels=two_of_three, agreement="2")[0] == 0
    assert check(tmp_path, cluster, sentinels=two_of_three, agreement="all")[0] == 1
    assert check(tmp_path, cluster, sentinels=two_of_three, agreement="3")[0] == 1
    # With all three up, "all" promotes.
    assert check(tmp_path, cluster, agreement="all")[0] == 0


def test_majority_counts_configured_not_answering_sentinels(tmp_path, cluster):
    # 4 configured, 2 answer: majority of 4 is 3 -> demote, although both answers agree.
    sents = "%s 127.0.0.1:%d 127.0.0.2:%d" % (sentinel_list(ports(cluster, 0, 1)), cluster.dead_port,
                                              cluster.dead_port)
    rc, _, err = check(tmp_path, cluster, sentinels=sents)
    assert rc == 1, err
    res = evaluate(cluster, sentinels=sents)
    assert (res["agreeing"], res["required"], res["configured"]) == (2, 3, 4)


# --- authentication and errors --------------------------------------------------------------------

def test_wrong_redis_password_demotes(tmp_path, cluster):
    rc, _, err = check(tmp_path, cluster, redis_password="not-the-password")
    assert rc == 1, err
    res = evaluate(cluster, redis_password="not-the-password")
    assert res["redis"]["status"] == "auth_failed"
    assert "WRONGPASS" in res["redis"]["error"]


def test_failed_auth_demotes_even_where_the_default_user_could_run_role(tmp_path, cluster):
    # "openmaster": the default user has no password, so ROLE after a failed AUTH still says master.
    assert check(tmp_path, cluster, node=cluster.open, master_name="openmaster")[0] == 0
    rc, _, err = check(tmp_path, cluster, node=cluster.open, master_name="openmaster", redis_password="wrong")
    assert rc == 1, err
    res = evaluate(cluster, node=cluster.open, master_name="openmaster", redis_password="wrong")
    assert res["redis"]["status"] == "auth_failed"
    assert res["agreeing"] == 3  # only the failed AUTH demoted it


def test_missing_redis_password_demotes(tmp_path, cluster):
    # No AUTH at all: ROLE gets -NOAUTH.
    rc, _, err = check(tmp_path, cluster, redis_user=None, redis_password=None)
    assert rc == 1, err
    res = evaluate(cluster, redis_user=None, redis_password=None)
    assert "NOAUTH" in res["redis"]["error"]


def test_wrong_sentinel_password_demotes(tmp_path, cluster):
    rc, _, err = check(tmp_path, cluster, sentinel_password="nope")
    assert rc == 1, err
    res = evaluate(cluster, sentinel_password="nope")
    assert {s["status"] for s in res["sentinels"]} == {"auth_failed"}


def test_acl_user_without_role_permission_demotes(tmp_path, cluster):
    rc, _, err = check(tmp_path, cluster, redis_user=NOPERM_USER, redis_password=NOPERM_PW)
    assert rc == 1, err
    res = evaluate(cluster, redis_user=NOPERM_USER, redis_password=NOPERM_PW)
    assert res["redis"]["status"] == "error"
    assert "NOPERM" in res["redis"]["error"]


def test_redis_down_connection_refused_demotes(tmp_path, cluster):
    rc, elapsed, err = check(tmp_path, cluster, redis_port=cluster.dead_port,
                             announce_port=cluster.master.port)
    assert rc == 1, err
    assert elapsed < 0.5 + SLACK_S
    res = evaluate(cluster, redis_port=cluster.dead_port, announce_port=cluster.master.port)
    assert res["redis"]["status"] == "unreachable"
    assert "refused" in res["redis"]["error"]


def test_redis_busy_script_error_reply_demotes(tmp_path, cluster, lone_redis):
    """A real -BUSY reply (Lua script running past busy-reply-threshold) demotes."""
    def busy():
        try:
            vc.redis_call("127.0.0.1", lone_redis.port, ["EVAL", "while true do end", "0"], password=ADMIN_PW,
                          timeout=10)
        except (OSError, vc.RespError):
            pass
    t = threading.Thread(target=busy, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while True:
            res = evaluate(cluster, node=lone_redis, announce_port=lone_redis.port)
            if "BUSY" in (res["redis"].get("error") or "") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert res["redis"]["status"] in ("error", "auth_failed")
        assert "BUSY" in res["redis"]["error"]
        assert not res["promote"]
    finally:
        try:
            vc.redis_call("127.0.0.1", lone_redis.port, ["SCRIPT", "KILL"], password=ADMIN_PW, timeout=5)
        except vc.RespError:
            pass
        t.join(10)


# --- time budget --------------------------------------------------------------------------------

def test_sigstopped_redis_demotes_within_budget(tmp_path, cluster):
    """The master accepts TCP connections (kernel backlog) but never answers while stopped."""
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(cluster, budget_ms=300))
    assert run_check(cfg)[0] == 0  # promote before the stop: the stop is what changes the verdict
    cluster.master.sigstop()
    try:
        rc, elapsed, err = run_check(cfg)
    finally:
        cluster.master.sigcont()
    assert rc == 1, err
    assert elapsed < 0.3 + SLACK_S, elapsed
    assert run_check(cfg)[0] == 0


def test_sigstopped_sentinel_keeps_budget_and_verdict(tmp_path, cluster):
    budget = 300
    stopped = cluster.sentinels[2]
    stopped.sigstop()
    try:
        # Majority (2 of 3) still answers: promote, and without waiting for the stopped one.
        rc, elapsed, err = check(tmp_path, cluster, budget_ms=budget)
        assert rc == 0, err
        assert elapsed < budget / 1000 + SLACK_S
        # The replica is still demoted.
        rc, elapsed, err = check(tmp_path, cluster, node=cluster.replica, budget_ms=budget)
        assert rc == 1, err
        assert elapsed < budget / 1000 + SLACK_S
        # "all" needs the stopped one: it is awaited until the budget runs out, then demote.
        rc, elapsed, err = check(tmp_path, cluster, budget_ms=budget, agreement="all")
        assert rc == 1, err
        assert budget / 1000 * 0.8 <= elapsed < budget / 1000 + SLACK_S, elapsed
        # The module's complete report waits for it within the budget and reports the timeout ...
        res = evaluate(cluster, budget_ms=budget)
        assert res["sentinels"][2]["status"] == "unreachable"
        assert res["sentinels"][2]["error"] == "timeout"
        assert res["elapsed_ms"] < budget + 100
        assert res["promote"]
        # ... while the track script's mode decides as soon as two have agreed, without waiting.
        res = evaluate(cluster, budget_ms=2000, complete=False)
        assert res["promote"]
        assert res["sentinels"][2]["status"] == "not_checked"
        assert res["elapsed_ms"] < 1000
    finally:
        stopped.sigcont()


# --- addresses ------------------------------------------------------------------------------------

def test_ipv6_loopback(tmp_path, cluster):
    if not cluster.ipv6:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    v6_sentinels = sentinel_list(ports(cluster, 0, 1, 2), host="::1")
    assert v6_sentinels.startswith("[::1]:")
    # Connect over IPv6 everywhere; the Sentinels monitor the master as "0:0::1" under "v6master"
    # and answer it in that form.
    res = evaluate(cluster, redis_host="::1", sentinels=v6_sentinels, master_name="v6master", announce_host="::1")
    assert {s["master"] for s in res["sentinels"]} == {"[0:0::1]:%d" % cluster.master.port}
    assert res["promote"]
    rc, _, err = check(tmp_path, cluster, redis_host="::1", sentinels=v6_sentinels, master_name="v6master",
                       announce_host="0:0:0:0:0:0:0:1")
    assert rc == 0, err
    rc, _, err = check(tmp_path, cluster, redis_host="[::1]", sentinels=v6_sentinels, master_name="v6master",
                       announce_host="[::1]")
    assert rc == 0, err
    # Over IPv6 transport, but the group names 127.0.0.1: "::1" is not that.
    rc, _, err = check(tmp_path, cluster, redis_host="::1", sentinels=v6_sentinels, master_name="mymaster",
                       announce_host="::1")
    assert rc == 1, err
    # The replica stays demoted over IPv6 too.
    rc, _, err = check(tmp_path, cluster, node=cluster.replica, redis_host="::1", sentinels=v6_sentinels,
                       master_name="v6master", announce_host="::1")
    assert rc == 1, err


def test_sentinels_announcing_a_hostname(tmp_path, cluster):
    res = evaluate(cluster, master_name="hostmaster", announce_host="localhost")
    assert {s["master"] for s in res["sentinels"]} == {"LocalHost:%d" % cluster.master.port}
    assert res["promote"]
    # Case-insensitive, trailing dot ignored; the check also connects to Redis by hostname.
    rc, _, err = check(tmp_path, cluster, redis_host="localhost", master_name="hostmaster",
                       announce_host="LocalHost.")
    assert rc == 0, err
    # The answer "localhost" is compared as a name, never resolved: an IP does not match it.
    rc, _, err = check(tmp_path, cluster, master_name="hostmaster", announce_host="127.0.0.1")
    assert rc == 1, err
    rc, _, err = check(tmp_path, cluster, node=cluster.replica, master_name="hostmaster",
                       announce_host="localhost")
    assert rc == 1, err


# --- secrets -------------------------------------------------------------------------------------

def test_password_with_space_quotes_hash_dollar_backslash_end_to_end(tmp_path, cluster):
    for ch in (" ", '"', "'", "#", "$", "\\"):
        assert ch in SPECIAL_PW
    assert SPECIAL_PW.endswith(" ")
    keys = dict(redis_user=SPECIAL_USER, redis_password=SPECIAL_PW,
                sentinel_user=SENTINEL_SPECIAL_USER, sentinel_password=SPECIAL_PW)
    rc, _, err = check(tmp_path, cluster, **keys)
    assert rc == 0, err
    # Verbatim means verbatim: without the trailing space it is another password.
    keys_stripped = dict(keys, redis_password=SPECIAL_PW.rstrip())
    rc, _, err = check(tmp_path, cluster, **keys_stripped)
    assert rc == 1, err


def test_config_errors_exit_2_without_leaking_secrets(tmp_path, cluster):
    secret = "s3cret-VALUE"
    good = base_cfg(cluster, redis_password=secret)
    cases = {
        "unknown key": dict(good, bogus_key="x"),
        "missing master_name": dict(good, master_name=None),
        "missing announce_host": dict(good, announce_host=None),
        "no sentinels": dict(good, sentinels=None),
        "agreement above N": dict(good, agreement="4"),
        "agreement word": dict(good, agreement="most"),
        "unbracketed IPv6": dict(good, sentinels="::1:26379"),
        "bad port": dict(good, redis_port="63x79"),
        "budget": dict(good, budget_ms="0"),
        "duplicate sentinel": dict(good, sentinels="127.0.0.1:1 127.0.0.1:1"),
    }
    for label, keys in cases.items():
        cfg = write_cfg(tmp_path / "bad.conf", **keys)
        rc, _, err = run_check(cfg)
        assert rc == 2, label
        assert "config error" in err, label
        assert secret not in err, label
    # A line without '=' and a repeated key.
    bad = tmp_path / "bad2.conf"
    bad.write_text("redis_password=%s\nredis_password=%s\n" % (secret, secret))
    rc, _, err = run_check(bad)
    assert rc == 2 and secret not in err
    bad.write_text("just some words %s\n" % secret)
    rc, _, err = run_check(bad)
    assert rc == 2 and secret not in err
    # Usage errors: no argument, two arguments, missing file.
    for argv in ([], [str(bad), str(bad)], [str(tmp_path / "missing.conf")]):
        proc = subprocess.run([NODE_PYTHON, "-IS", str(CHECK_SCRIPT)] + argv, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 2, argv
        assert proc.stderr


def test_password_never_in_output_or_state(tmp_path, cluster):
    state = tmp_path / "state"
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(cluster, redis_password="wrong " + CHECK_PW,
                                                    state_file=state))
    proc = subprocess.run([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), str(cfg)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1
    assert CHECK_PW not in proc.stdout + proc.stderr
    assert CHECK_PW not in state.read_text()
    assert state.read_text().startswith("demote\n")


# --- verdict memory --------------------------------------------------------------------------------

def test_state_file_written_only_when_the_verdict_changes(tmp_path, cluster):
    state = tmp_path / "run" / "verdict"
    state.parent.mkdir()
    good = base_cfg(cluster, state_file=state)
    cfg_promote = write_cfg(tmp_path / "p.conf", **good)
    cfg_demote = write_cfg(tmp_path / "d.conf", **dict(good, redis_password="wrong"))

    assert run_check(cfg_promote)[0] == 0
    first = state.stat()
    assert state.read_text().startswith("promote\n")
    assert (first.st_mode & 0o777) == 0o640

    time.sleep(0.02)
    assert run_check(cfg_promote)[0] == 0
    again = state.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)  # not rewritten

    assert run_check(cfg_demote)[0] == 1
    changed = state.stat()
    assert changed.st_ino != first.st_ino  # replaced atomically (new file renamed over)
    text = state.read_text()
    assert text.startswith("demote\n") and "WRONGPASS" in text

    assert run_check(cfg_demote)[0] == 1
    assert state.stat().st_ino == changed.st_ino
    assert sorted(os.listdir(state.parent)) == ["verdict"]  # no temporary files left behind

    assert run_check(cfg_promote)[0] == 0
    assert state.read_text().startswith("promote\n")


def test_record_verdict_function(tmp_path, cluster):
    settings = vc.build_settings({k: str(v) for k, v in base_cfg(cluster).items()})
    res = vc.evaluate(settings)
    assert vc.record_verdict(settings, res, log=False) is False  # no state_file: nothing to do
    state = tmp_path / "v"
    settings["state_file"] = str(state)
    assert vc.record_verdict(settings, res, log=False) is True  # unknown -> promote
    assert vc.record_verdict(settings, res, log=False) is False
    state.write_text("garbage\n")
    assert vc.record_verdict(settings, res, log=False) is True  # unreadable counts as unknown
    assert vc.read_state(str(state)) == "promote"


def test_unusable_state_file_does_not_change_the_verdict(tmp_path, cluster):
    for state in (tmp_path / "no" / "such" / "dir" / "verdict", tmp_path):  # missing dir; a directory
        rc, _, err = check(tmp_path, cluster, state_file=state)
        assert rc == 0, err
        rc, _, err = check(tmp_path, cluster, node=cluster.replica, state_file=state)
        assert rc == 1, err


# --- the file itself ------------------------------------------------------------------------------

def test_the_command_line_is_the_launchers(tmp_path, cluster):
    """keepalived and redis-vip-watch run `python3 -IS vip_check.py ...` (the launcher); the module_utils
    file has no command line of its own (ansible-test sanity: no shebang, no sys.exit)."""
    assert LAUNCHER.read_text().rstrip().endswith("sys.exit(main(sys.argv[1:]))")
    for module in VIP_CHECK.glob("*.py"):
        library = module.read_text()
        assert not library.startswith("#!") and "__main__" not in library and "sys.exit" not in library, module
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(cluster))
    assert subprocess.run([NODE_PYTHON, "-IS", str(CHECK_SCRIPT), str(cfg)], check=False).returncode == 0


def test_imports_only_cheap_modules(tmp_path, cluster):
    cfg = write_cfg(tmp_path / "c.conf", **base_cfg(cluster))
    proc = subprocess.run([NODE_PYTHON, "-IS", "-X", "importtime", str(CHECK_SCRIPT), str(cfg)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    heavy = {"socket", "selectors", "enum", "re", "json", "configparser", "argparse", "logging", "subprocess",
             "os", "ipaddress", "typing", "collections"}
    assert not imported & heavy, imported & heavy


def test_syslog_one_line_per_verdict_change(tmp_path, cluster):
    """Capture what the script sends to syslog by listening on /dev/log (only where no syslog daemon
    owns it, e.g. in a container; the socket is removed afterwards)."""
    import socket
    if os.path.exists("/dev/log"):
        pytest.skip("/dev/log belongs to a running syslog daemon")
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind("/dev/log")
    except OSError as exc:
        pytest.skip("cannot listen on /dev/log: %s" % exc)
    sock.settimeout(0.5)

    ident = "test-vip-check-%d" % os.getpid()  # other programs (other test runs) may log meanwhile

    def drain():
        lines = []
        while True:
            try:
                line = sock.recv(65536).decode("utf-8", "replace")
            except socket.timeout:
                return lines
            if ident + "[" in line:
                lines.append(line)

    try:
        state = tmp_path / "verdict"
        good = base_cfg(cluster, state_file=state, syslog_ident=ident)
        cfg_promote = write_cfg(tmp_path / "p.conf", **good)
        cfg_demote = write_cfg(tmp_path / "d.conf", **dict(good, redis_password="wrong-" + CHECK_PW))
        assert run_check(cfg_promote)[0] == 0
        lines = drain()
        assert len(lines) == 1, lines
        # <29> = facility daemon (3) * 8 + severity notice (5)
        assert lines[0].startswith("<29>") and ident + "[" in lines[0]
        assert "verdict PROMOTE (was unknown)" in lines[0] and "is master" in lines[0]
        for _ in range(3):
            assert run_check(cfg_promote)[0] == 0
        assert drain() == []  # unchanged verdict: silent
        assert run_check(cfg_demote)[0] == 1
        assert run_check(cfg_demote)[0] == 1
        lines = drain()
        assert len(lines) == 1, lines
        assert lines[0].startswith("<28>")  # daemon.warning
        assert "verdict DEMOTE (was PROMOTE)" in lines[0] and "WRONGPASS" in lines[0]
        assert CHECK_PW not in lines[0]
    finally:
        sock.close()
        os.unlink("/dev/log")
