"""redis_switchover against a REAL group: three redis-server processes on the same port at 127.0.0.1,
127.0.0.2 and 127.0.0.3 (the module addresses every node by host with one Redis port, as in production)
and three redis-sentinel processes that never fail over on their own (down-after 10 minutes).

One ansible-playbook run on localhost: the module in check mode (reports its choice, changes nothing),
then the real switchover to 127.0.0.3, while a writer thread keeps writing to the old master. Afterwards:
a majority of the Sentinels names the target, the old master replicates from it, the replica priorities
are back, and every write the old master acknowledged is on the new master (no acknowledged write lost;
writes after the pause get -READONLY, none is accepted by the deposed master)."""

import json
import pathlib
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from confmod_helpers import ansible_playbook, run_playbook  # noqa: E402
from vipcheck_helpers import Proc, free_port, vc  # noqa: E402

ADMIN_PW = "so-admin-Rt5Ku8"
SENTINEL_PW = "so-sentinel-Pw3Hy6"
NAME = "swmaster"
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Check mode reports the choice
      redis_ha.sentinel_vip.redis_switchover: &args
        login_password: "{{ admin_pw }}"
        sentinels: "{{ sentinels }}"
        sentinel_password: "{{ sentinel_pw }}"
        master_name: "{{ name }}"
        redis_port: "{{ port }}"
        target: 127.0.0.3
      check_mode: true
      register: checked
    - name: Master as the Sentinels name it after check mode
      redis_ha.sentinel_vip.redis_command:
        login_port: "{{ sentinels[0].split(':')[1] }}"
        login_password: "{{ sentinel_pw }}"
        command: [SENTINEL, get-master-addr-by-name, "{{ name }}"]
        read_only: true
      register: after_check
    - name: Switch over
      redis_ha.sentinel_vip.redis_switchover: *args
      register: switched
    - name: Results
      ansible.builtin.copy:
        content: "{{ {'checked': checked, 'after_check': after_check.reply, 'switched': switched} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def call(host, port, *args, password=ADMIN_PW, timeout=5):
    return vc.redis_call(host, port, list(args), password=password, timeout=timeout)


def wait_for(what, predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except (OSError, vc.RespError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def info(host, port):
    text = vc.resp_to_text(call(host, port, "INFO", "replication"))
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def common_port():
    for _attempt in range(50):
        port = free_port()
        try:
            for host in HOSTS:
                free_port(host)  # loopback aliases exist on Linux; a failure skips the test below
            return port
        except OSError:
            continue
    raise OSError("no common free port")


@pytest.fixture
def group(tmp_path):
    try:
        port = common_port()
    except OSError as exc:
        pytest.skip("127.0.0.2/3 not usable here: %s" % exc)
    procs = []
    try:
        for i, host in enumerate(HOSTS):
            lines = ["bind %s" % host, "requirepass %s" % ADMIN_PW, "masterauth %s" % ADMIN_PW,
                     "replica-announce-ip %s" % host, "repl-diskless-sync-delay 0"]
            if i:
                lines.append("replicaof %s %d" % (HOSTS[0], port))
            procs.append(Proc("redis", port, tmp_path / ("r%d" % i), lines))
        sentinels = []
        for i in range(3):
            s = Proc("sentinel", free_port(), tmp_path / ("s%d" % i), [
                "requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
                "sentinel monitor %s %s %d 2" % (NAME, HOSTS[0], port),
                "sentinel auth-pass %s %s" % (NAME, ADMIN_PW),
                "sentinel down-after-milliseconds %s 600000" % NAME,
                "sentinel failover-timeout %s 60000" % NAME])
            procs.append(s)
            sentinels.append(s)
        wait_for("the replicas to sync", lambda: all(
            info(h, port).get("master_link_status") == "up" for h in HOSTS[1:]))

        def sentinels_know_everything():
            for s in sentinels:
                master = vc.resp_to_text(call("127.0.0.1", s.port, "SENTINEL", "MASTER", NAME, password=SENTINEL_PW))
                fields = dict(zip(master[0::2], master[1::2]))
                if fields.get("num-slaves") != "2" or fields.get("num-other-sentinels") != "2":
                    return False
            return True

        wait_for("the Sentinels to know the replicas and each other", sentinels_know_everything)
        yield port, ["127.0.0.1:%d" % s.port for s in sentinels]
    finally:
        for p in procs:
            p.terminate()


class Writer(threading.Thread):
    """SET w:<n> on the old master until it refuses (the deposed master must answer -READONLY)."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.acked, self.errors, self.stop = [], [], threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            try:
                call(self.host, self.port, "SET", "w:%d" % n, str(n), timeout=10)
                self.acked.append(n)
            except (OSError, vc.RespError) as exc:
                self.errors.append(str(exc))
            n += 1
            time.sleep(0.002)


def group_procs(workdir):
    """The configuration files of the group's three servers (the fixture's r0, r1, r2)."""
    return sorted(workdir.glob("r[0-2]/redis-*.conf"))


def test_switchover_module_moves_the_master_and_loses_no_acknowledged_write(group, tmp_path):
    if not ansible_playbook():
        pytest.fail("ansible-playbook not found next to the test interpreter or on PATH")
    port, sentinels = group
    writer = Writer(HOSTS[0], port)
    writer.start()
    out = tmp_path / "result.json"
    proc, output = run_playbook(tmp_path, PLAYBOOK, dict(admin_pw=ADMIN_PW, sentinel_pw=SENTINEL_PW, name=NAME,
                                                         port=port, sentinels=sentinels, out=str(out)),
                                verbosity="")
    time.sleep(0.5)
    writer.stop.set()
    writer.join(15)
    assert proc.returncode == 0, output[-3000:]
    assert ADMIN_PW not in output and SENTINEL_PW not in output
    result = json.loads(out.read_text())

    checked = result["checked"]
    assert not checked["changed"] and checked["old_master"] == HOSTS[0] and checked["new_master"] == HOSTS[2]
    assert result["after_check"][0] == HOSTS[0], "check mode moved the master"

    switched = result["switched"]
    assert switched["changed"] and switched["switched"], switched
    assert (switched["old_master"], switched["new_master"]) == (HOSTS[0], HOSTS[2])
    assert switched["paused_ms"] < 5000, switched["steps"]
    for address in sentinels:
        host, sport = address.split(":")
        named = call(host, int(sport), "SENTINEL", "get-master-addr-by-name", NAME, password=SENTINEL_PW)
        assert vc.resp_to_text(named[0]) == HOSTS[2]
    wait_for("the old master to replicate from the target", lambda: info(HOSTS[0], port).get("master_host") == HOSTS[2])
    for host in HOSTS:
        assert vc.resp_to_text(call(host, port, "CONFIG", "GET", "replica-priority"))[1] == "100", host
    # the other replica, reconfigured by Sentinel (REPLICAOF + CONFIG REWRITE) while its priority was 0 for the
    # switchover: its file holds the priority put back too, or its next start would make it unelectable
    wait_for("the other replica to follow the target", lambda: info(HOSTS[1], port).get("master_host") == HOSTS[2])
    files = group_procs(tmp_path)
    assert len(files) == 3, files
    for conf in files:
        assert "replica-priority 0" not in conf.read_text(), conf

    assert len(writer.acked) > 50, "the writer barely ran: %d writes" % len(writer.acked)
    assert any("READONLY" in e for e in writer.errors), "the deposed master never refused a write: %s" % writer.errors[:3]
    keys = set(vc.resp_to_text(call(HOSTS[2], port, "KEYS", "w:*")))
    lost = [n for n in writer.acked if "w:%d" % n not in keys]
    assert not lost, "%d acknowledged writes lost on the new master: %s" % (len(lost), lost[:10])
