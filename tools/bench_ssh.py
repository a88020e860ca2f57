#!/usr/bin/env python3
"""The no-op site.yml over SSH against the same over the docker connection, on the same nodes (issue 24).

    .venv/bin/python tools/bench_ssh.py up                  # redis-ssh-1..3 with sshd, two inventories, site.yml once
    .venv/bin/python tools/bench_ssh.py bench --runs 5 --calls --variants docker,ssh,ssh-nomux --out noop-ssh.json
    .venv/bin/python tools/bench_ssh.py down                # remove the nodes and their networks

The nodes are the Molecule default scenario's (tools/lab_nodes.py builds them from molecule/default/molecule.yml)
under other names and on other networks, so they never meet the lab, the drill or the validation nodes:
redis-ssh-k on redis-ssh-mgmt 172.31.254.0/24 (eth0, the default route; SSH goes here) and redis-ssh-net
172.31.253.0/24 (eth1, the service network; VIP 172.31.253.100, VRRP router id 53). `up` installs Debian's
openssh-server on each node (apt-get from the nodes' own mirror), authorizes a throwaway key made in
.cache/bench-ssh/ for root, writes the inventories .cache/bench-ssh-docker (ansible_connection
community.docker.docker, as inventories/lab) and .cache/bench-ssh-ssh (ansible_connection ssh, ansible_host the
management address, the key, host keys not checked), which share one group_vars (inventories/lab's with the
addresses above), and deploys with site.yml over the docker connection.

`bench` runs site.yml on the deployed nodes with each connection in turn (docker, ssh, docker, ssh, ...) so the
machine's load falls on both alike, and prints the per-phase table of tools/bench_site_phases.py for each; every
run must report changed=0 on every node. Each SSH run starts without a ControlMaster (its own control path
directory), as an operator's single run does; ansible.cfg's ssh settings (pipelining, the default ssh_args
with ControlPersist=60s) apply unchanged; the variant ssh-nomux turns the ControlMaster off (every command its own
SSH connection). Before the runs, --per-command N times N single commands on each connection. Traffic goes only
to the nodes made here (and, in `up`, from them to their Debian mirror).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

import bench_site_phases
import lab_nodes

ROOT = lab_nodes.ROOT
NODES = 3
LABEL = "redis-ssh-bench"
NODE_NAME = re.compile(r"^redis-ssh-\d+$")
# the scenario's names and addresses -> this benchmark's (checked: none of the scenario's may remain)
RENAME = [("redis-ha-mgmt", "redis-ssh-mgmt"), ("redis-ha-net", "redis-ssh-net"), ("br-redis-mgmt", "br-rssh-mgmt"),
          ("br-redis-ha", "br-rssh-net"), ("redis-ha-1", "redis-ssh-1"), ("172.31.240.", "172.31.254."),
          ("172.31.250.", "172.31.253.")]
GROUP_VARS = [(r"(?m)^redis_ha_bootstrap_master: .*$", "redis_ha_bootstrap_master: redis-ssh-1"),
              (r"(?m)^  - 172\.31\.250\.100/24$", "  - 172.31.253.100/24"),
              (r"(?m)^keepalived_virtual_router_id: .*$", "keepalived_virtual_router_id: 53")]
WORK = ROOT / ".cache" / "bench-ssh"
KEY = WORK / "id_ed25519"
INVENTORIES = {"docker": ROOT / ".cache" / "bench-ssh-docker", "ssh": ROOT / ".cache" / "bench-ssh-ssh"}
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
# name: (inventory, environment added to ansible-playbook's); "{cp}" is a fresh control path directory per run
VARIANTS = {
    "docker": ("docker", {}),
    "ssh": ("ssh", {"ANSIBLE_SSH_CONTROL_PATH_DIR": "{cp}"}),
    # for comparison: every command its own SSH connection (no ControlMaster), as with ssh_args without it
    "ssh-nomux": ("ssh", {"ANSIBLE_SSH_ARGS": "-C -o ControlMaster=no"}),
}
# ansible.cfg's (the ssh plugin's default) ssh_args: one master connection per node, kept 60 s
SSH_ARGS = "-C -o ControlMaster=auto -o ControlPersist=60s"


def spec() -> dict:
    """The scenario's node definition with this benchmark's names, addresses and bridges."""
    text = json.dumps(lab_nodes.template())
    for old, new in RENAME:
        text = text.replace(old, new)
    if re.search(r"redis-ha-|172\.31\.2(4\d|5[0-2])\.", text):
        sys.exit("bench_ssh: a name or address of the lab is left in %s" % text)
    return json.loads(text)


def node_name(k: int) -> str:
    return lab_nodes.node_name(k, spec())


def containers() -> list[str]:
    names = lab_nodes.docker("ps", "-a", "--format", "{{.Names}}", "--filter", "label=" + LABEL).stdout.split()
    return sorted(n for n in names if NODE_NAME.match(n))


def ssh_address(k: int) -> str:
    """Node k's management (eth0) address: where an operator's SSH goes."""
    return lab_nodes.node_addresses(k, spec())[0][1]


def wait_systemd(name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = lab_nodes.docker("exec", name, "systemctl", "is-system-running", check=False)
        if res.stdout.strip() in ("running", "degraded"):
            return
        time.sleep(1)
    sys.exit("bench_ssh: systemd on %s did not come up in %d s" % (name, timeout))


def install_sshd(names: list[str]) -> None:
    """Debian's openssh-server on every node at once, the throwaway key authorized for root."""
    script = ("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "
              "openssh-server && install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys && "
              "chmod 0600 /root/.ssh/authorized_keys && systemctl enable --now ssh")
    public = (WORK / "id_ed25519.pub").read_text()
    jobs = {name: subprocess.Popen(["docker", "exec", "-i", name, "sh", "-ec", script], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for name in names}
    for name, job in jobs.items():
        output, _ = job.communicate(public, timeout=600)
        if job.returncode != 0:
            sys.exit("bench_ssh: installing openssh-server on %s failed:\n%s" % (name, output[-3000:]))


def wait_ssh(k: int, timeout: float = 60) -> None:
    command = ["ssh", "-i", str(KEY), *SSH_OPTIONS.split(), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
               "root@" + ssh_address(k), "true"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(command, capture_output=True, check=False, timeout=30).returncode == 0:
            return
        time.sleep(1)
    sys.exit("bench_ssh: no SSH login to %s in %d s" % (ssh_address(k), timeout))


def write_inventories(nodes: int) -> None:
    """The two inventories: the same hosts and group_vars, only the connection differs."""
    lab_vars = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())["redis_ha"]["vars"]
    connection = {
        "docker": lab_vars,
        "ssh": {"ansible_connection": "ssh", "ansible_user": "root",
                "ansible_python_interpreter": lab_vars["ansible_python_interpreter"],
                "ansible_ssh_private_key_file": str(KEY), "ansible_ssh_common_args": SSH_OPTIONS},
    }
    group_vars = (ROOT / "inventories" / "lab" / "group_vars" / "redis_ha.yml").read_text()
    for pattern, line in GROUP_VARS:
        group_vars, count = re.subn(pattern, line, group_vars)
        if count != 1:
            sys.exit("bench_ssh: %r matched %d lines of inventories/lab/group_vars/redis_ha.yml" % (pattern, count))
    (WORK / "group_vars").mkdir(parents=True, exist_ok=True)
    (WORK / "group_vars" / "redis_ha.yml").write_text(group_vars)
    for kind, inv in INVENTORIES.items():
        (inv / "host_vars").mkdir(parents=True, exist_ok=True)
        hosts = {"redis_ha": {"hosts": {node_name(k): None for k in range(1, nodes + 1)}, "vars": connection[kind]}}
        (inv / "hosts.yml").write_text("---\n# %d nodes of tools/bench_ssh.py, %s connection\n%s" % (
            nodes, kind, yaml.safe_dump(hosts, sort_keys=False, default_flow_style=False)))
        for k in range(1, nodes + 1):
            host = {"redis_ha_announce_ip": lab_nodes.node_addresses(k, spec())[1][1]}
            host.update({"ansible_host": ssh_address(k)} if kind == "ssh" else {})
            (inv / "host_vars" / ("%s.yml" % node_name(k))).write_text("---\n" + yaml.safe_dump(host))
        link = inv / "group_vars"
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(WORK / "group_vars", inv))


def up(nodes: int) -> int:
    down()
    WORK.mkdir(parents=True, exist_ok=True)
    if not KEY.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench_ssh throwaway", "-f", str(KEY)],
                       check=True)
    node_spec = spec()
    for net in node_spec["docker_networks"]:
        lab_nodes.docker(*lab_nodes.network_create_args(net, LABEL))
    names = [node_name(k) for k in range(1, nodes + 1)]
    print("==> Creating %s" % " ".join(names), flush=True)
    for k in range(1, nodes + 1):
        lab_nodes.create_node(k, node_spec, LABEL)
    for name in names:
        wait_systemd(name)
    print("==> Installing openssh-server", flush=True)
    install_sshd(names)
    for k in range(1, nodes + 1):
        wait_ssh(k)
    write_inventories(nodes)
    print("==> site.yml over the docker connection (fresh deploy)", flush=True)
    seconds, output, rc = bench_site_phases.run_site(1800, inventory=INVENTORIES["docker"])
    (WORK / "deploy.log").write_text(output)
    print("site.yml: %.1f s, rc %d, changed %s (log: %s)"
          % (seconds, rc, bench_site_phases.changed(output), WORK / "deploy.log"), flush=True)
    return rc


def down() -> None:
    names = containers()
    if names:
        print("==> Removing %s" % " ".join(names), flush=True)
        lab_nodes.docker("rm", "-f", "-v", *names)
    for net in spec()["docker_networks"]:
        if lab_nodes.docker("network", "inspect", net["name"], check=False).returncode == 0:
            lab_nodes.docker("network", "rm", net["name"])


def run(variant: str, verbose: bool = False) -> tuple[float, str, int]:
    kind, env = VARIANTS[variant]
    with tempfile.TemporaryDirectory(prefix="bench-ssh-cp-") as cp:
        return bench_site_phases.run_site(900, verbose, INVENTORIES[kind],
                                          {key: value.format(cp=cp) for key, value in env.items()})


def calls(output: str, kind: str) -> dict[str, int]:
    """Commands sent to each node in a -vvv run; over SSH the EXEC lines name ansible_host and file transfers
    (sftp) show as EXEC too: only the commands count, per inventory name."""
    names = {ssh_address(k): node_name(k) for k in range(1, len(containers()) + 1)}
    if kind == "ssh":
        lines = [line for line in output.splitlines() if not re.match(r"^<[^>]+> SSH: EXEC (sftp|scp) ", line)]
        output = "\n".join(lines).replace("> SSH: EXEC ", "> EXEC ")
    found = bench_site_phases.calls(output)
    return {names.get(host, host): count for host, count in found.items()}


def per_command(samples: int) -> dict[str, dict[str, float]]:
    """What one command costs on each connection, module aside: `python3 -c pass` on the first node (what a
    pipelined module run starts), by docker exec, by ssh through a master connection and by ssh without one;
    milliseconds, interleaved."""
    python = ["/usr/bin/python3", "-c", "pass"]
    with tempfile.TemporaryDirectory(prefix="bench-ssh-cp-") as cp:
        ssh = ["ssh", "-i", str(KEY), *SSH_OPTIONS.split(), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        target = ["root@" + ssh_address(1)]
        commands = {"docker exec": ["docker", "exec", "-i", node_name(1), *python],
                    "ssh, ControlMaster": [*ssh, *SSH_ARGS.split(), "-o", "ControlPath=%s/%%C" % cp, *target, *python],
                    "ssh, no ControlMaster": [*ssh, "-C", "-o", "ControlMaster=no", *target, *python]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for index in range(samples + 1):
            for name, command in commands.items():
                t0 = time.monotonic()
                subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=60)
                if index:  # the first round opens the master connection
                    times[name].append((time.monotonic() - t0) * 1000)
        subprocess.run([*ssh, "-o", "ControlPath=%s/%%C" % cp, "-O", "exit", *target], capture_output=True,
                       check=False, timeout=30)
    return {name: {"min": round(min(v), 1), "median": round(statistics.median(v), 1), "max": round(max(v), 1)}
            for name, v in times.items()}


def bench(runs: int, variants: list[str], with_calls: bool, out: pathlib.Path | None, samples: int) -> int:
    report = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                       text=True, check=False).stdout.strip(),
              "nodes": containers(), "order": "interleaved: " + ", ".join(variants) + " per round",
              "variants": {v: {"inventory": str(INVENTORIES[VARIANTS[v][0]].relative_to(ROOT)), "env": VARIANTS[v][1],
                               "runs": []} for v in variants}}
    ok = True
    if samples:
        report["per_command_ms"] = per_command(samples)
        print("one command, ms (min / median / max of %d): %s" % (samples, report["per_command_ms"]), flush=True)
    for index in range(1, runs + 1):
        for variant in variants:
            load = os.getloadavg()
            seconds, output, rc = run(variant)
            entry = {"run": index, "seconds": round(seconds, 2), "rc": rc,
                     "changed": bench_site_phases.changed(output), "phases": bench_site_phases.phases(output),
                     "load_before": [round(x, 2) for x in load]}
            report["variants"][variant]["runs"].append(entry)
            ok = ok and rc == 0 and bool(entry["changed"]) and not any(entry["changed"].values())
            print("round %d/%d %-8s %.1f s, rc %d, changed %s, load %.2f" % (
                index, runs, variant, seconds, rc, entry["changed"], load[0]), flush=True)
    for variant in variants:
        rows = bench_site_phases.summary(report["variants"][variant]["runs"])
        report["variants"][variant]["summary"] = rows
        print("\n%s (%s)\n%s" % (variant, report["variants"][variant]["inventory"], "\n".join(
            "%-20s %8s %8s %8s" % tuple(row) for row in [["phase (s)", "min", "median", "max"]] + rows)))
    if with_calls:
        for variant in variants:
            seconds, output, rc = run(variant, verbose=True)
            found = calls(output, VARIANTS[variant][0])
            report["variants"][variant]["calls"] = found
            transfers = re.findall(r"^<([^>]+)> PUT ", output, re.MULTILINE)
            names = {ssh_address(k): node_name(k) for k in range(1, len(containers()) + 1)}
            report["variants"][variant]["transfers"] = {names.get(h, h): transfers.count(h) for h in set(transfers)}
            report["variants"][variant]["calls_run"] = {"seconds": round(seconds, 2), "rc": rc,
                                                        "changed": bench_site_phases.changed(output)}
            print("%s: commands sent to each node in one -vvv run (%.1f s, rc %d): %s" % (variant, seconds, rc, found))
    report["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if out:
        out.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("up").add_argument("--nodes", type=lab_nodes.node_count, default=NODES)
    bench_parser = sub.add_parser("bench")
    bench_parser.add_argument("--runs", type=int, default=5, help="rounds; each runs every variant once")
    bench_parser.add_argument("--variants", default="docker,ssh", help="comma-separated, of %s" % ", ".join(VARIANTS))
    bench_parser.add_argument("--calls", action="store_true", help="one more -vvv run per variant, counting commands")
    bench_parser.add_argument("--out", type=pathlib.Path, help="JSON report")
    bench_parser.add_argument("--per-command", type=int, default=20, metavar="N",
                              help="first time N single commands on each connection (0: not)")
    sub.add_parser("down")
    args = parser.parse_args(argv)
    if args.action == "up":
        return up(args.nodes)
    if args.action == "bench":
        variants = args.variants.split(",")
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            parser.error("unknown variants %s" % unknown)
        return bench(args.runs, variants, args.calls, args.out, args.per_command)
    down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
