"""Host tuning of the redis role (issue 14): on a converged node the server's log since its last start holds no
tuning warning, except for a setting the role reported as left to the container's host
(ansible_local.redis_ha_tuning). somaxconn (a namespaced sysctl) and the open-file limit apply inside the
container; vm.overcommit_memory and transparent huge pages are the host's."""

import json
import re

import lab

FACT = "/etc/ansible/facts.d/redis_ha_tuning.fact"
# The server's start-up warning for each setting (Redis 7/8 and Valkey wording).
WARNINGS = {
    "vm.overcommit_memory": re.compile(r"overcommit", re.I),
    "transparent_hugepage": re.compile(r"Transparent Huge Pages", re.I),
    "net.core.somaxconn": re.compile(r"somaxconn"),
    "nofile": re.compile(r"open files|file descriptors|maxclients has been reduced", re.I),
}
APPLY_IN_CONTAINER = ("net.core.somaxconn", "nofile")


def last_start(node):
    """The server's log lines since its last start."""
    log = "/var/log/%s/%s.log" % (lab.engine(), lab.units()["server"])
    lines = lab.docker("exec", node, "cat", log, timeout=10).stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if "is starting oO0OoO0OoO0Oo" in line]
    assert starts, "no start of the server in %s on %s" % (log, node)
    return lines[starts[-1]:]


def test_no_tuning_warning_in_the_servers_log_unless_reported():
    for node in lab.nodes():
        lines = last_start(node)
        report = json.loads(lab.docker("exec", node, "cat", FACT, timeout=10).stdout)
        left = {item["setting"] for item in report["left_to_host"]}
        warned = {name for name, pattern in WARNINGS.items() if any(pattern.search(line) for line in lines)}
        print("MEASURED: %s: tuning warnings %s, left to the host %s" % (node, sorted(warned), sorted(left)))
        assert not left & set(APPLY_IN_CONTAINER), (node, report)
        assert warned <= left, (node, [line for line in lines if "WARNING" in line], report)
        limit = lab.docker("exec", node, "systemctl", "show", "-p", "LimitNOFILE", lab.units()["server"]).stdout
        assert limit.strip() == "LimitNOFILE=65535", (node, limit)
