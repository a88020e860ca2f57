"""TLS on (REDIS_HA_TLS: Debian 13 + Valkey with the generated CA and plaintext ports beside TLS,
REDIS_HA_TLS_PLAINTEXT; Debian 13 + Redis with the lab's own CA, client certificates required and plaintext off;
skipped in plaintext): the CLI of the engine reaches the master through the VIP with --tls --cacert (and the
node's certificate where one is required), plaintext RESP on the TLS Redis and Sentinel ports gets no answer and
no plaintext port listens but the ones asked for (which serve the same group and want the passwords), and a
certificate rotation (new node certificates, site.yml) under a writer through the VIP fails (almost) no write,
loses none, moves neither the master nor the VIP, and every Redis and Sentinel then serves its new certificate.
The other tests of the scenario (kill master, drills) run over TLS too."""

import socket
import ssl
import subprocess

import drill
import lab
import pytest
import redis

pytestmark = pytest.mark.skipif(not lab.tls(), reason="the lab runs TLS only with REDIS_HA_TLS=1 or own-ca")
FAILED_WRITES_BOUND_S = 1.0


def _cli_through_vip(node, *command):
    """The engine's CLI on a node, to the VIP with TLS, as the default user (password on stdin, never in argv)."""
    tls = "--tls --cacert %s/ca.crt" % lab.NODE_TLS_DIR
    if lab.client_certificate():  # client certificates required: the node's own (root reads its key)
        tls += " --cert {0}/node.crt --key {0}/node.key".format(lab.NODE_TLS_DIR)
    script = ('read -r REDISCLI_AUTH; VALKEYCLI_AUTH=$REDISCLI_AUTH; export REDISCLI_AUTH VALKEYCLI_AUTH; '
              'exec %s-cli %s -h %s -p %d "$@"' % (lab.engine(), tls, lab.vip(), lab.redis_port()))
    return subprocess.run(["docker", "exec", "-i", node, "sh", "-c", script, "cli", *command],
                          input=lab.group_vars()["redis_password"] + "\n", capture_output=True, text=True,
                          timeout=30, check=False)


def _plaintext_answer(ip, port):
    """What a plaintext RESP PING gets from ip:port (b"" when the server closes the connection)."""
    with socket.create_connection((ip, port), timeout=3) as sock:
        sock.sendall(b"PING\r\n")
        try:
            return sock.recv(64)
        except (socket.timeout, ConnectionResetError):
            return b""


def _served_certificate(ip, port):
    """The DER certificate the TLS server at ip:port presents (checked against the lab's CA and its address)."""
    ctx = ssl.create_default_context(cafile=str(lab.TLS_CA_DIR / "ca.crt"))
    if lab.client_certificate():
        ctx.load_cert_chain(*lab.client_certificate())
    with socket.create_connection((ip, port), timeout=3) as raw, ctx.wrap_socket(raw, server_hostname=ip) as tls:
        return tls.getpeercert(binary_form=True)


def test_cli_with_tls_through_the_vip_writes_and_reads():
    node = lab.nodes()[0]
    res = _cli_through_vip(node, "SET", "tls:probe", "ok")
    assert res.returncode == 0 and res.stdout.strip() == "OK", (res.stdout, res.stderr)
    res = _cli_through_vip(node, "GET", "tls:probe")
    assert res.stdout.strip() == "ok", (res.stdout, res.stderr)


def test_plaintext_is_refused_on_every_tls_port_and_listens_only_where_asked():
    beside = lab.tls_plaintext_ports() or ()
    for name, ip in lab.node_ips().items():
        for port in (lab.redis_port(), lab.sentinel_port()):
            answer = _plaintext_answer(ip, port)
            assert not answer.startswith((b"+", b"-")), (name, port, answer)  # no RESP reply to plaintext
        listening = lab.docker("exec", name, "ss", "-Hltn").stdout
        ports = sorted({int(line.split()[3].rsplit(":", 1)[1]) for line in listening.splitlines()})
        assert lab.redis_port() in ports and lab.sentinel_port() in ports, (name, ports)
        plaintext = set(ports) & {6379, 26379, 6378, 26378}
        assert plaintext == set(beside), (name, ports)  # no plaintext listener but the ones asked for
        server_port = str(beside[0]) if beside else "0"  # the server's plaintext port: off, or the one beside TLS
        assert lab.redis_client(ip).config_get("port") == {"port": server_port}, name


@pytest.mark.skipif(not lab.tls_plaintext_ports(), reason="plaintext beside TLS only with REDIS_HA_TLS_PLAINTEXT=1")
def test_plaintext_beside_tls_serves_the_same_group_and_still_wants_passwords():
    """redis_ha_tls_plaintext: a plaintext client reaches the master through the VIP on the plaintext port and
    its write is read back over TLS; each Sentinel's plaintext port names the same master as its TLS port; both
    refuse clients without a password (protected mode does not make the plaintext port a loophole)."""
    redis_plain, sentinel_plain = lab.tls_plaintext_ports()
    gv = lab.group_vars()
    vip = redis.Redis(host=lab.vip(), port=redis_plain, password=gv["redis_password"], socket_timeout=3)
    assert vip.set("tls:plaintext-beside", "ok") and vip.info("replication")["role"] == "master"
    assert lab.vip_client().get("tls:plaintext-beside") == b"ok"  # the TLS port of the same master
    for name, ip in lab.node_ips().items():
        sentinel = redis.Redis(host=ip, port=sentinel_plain, password=gv["redis_ha_sentinel_password"],
                               socket_timeout=3)
        assert "%s:%s" % tuple(x.decode() for x in sentinel.execute_command(
            "SENTINEL", "get-master-addr-by-name", lab.master_name())) == lab.sentinel_master(ip), name
        for port in (redis_plain, sentinel_plain):
            with pytest.raises(redis.AuthenticationError):  # NOAUTH
                redis.Redis(host=ip, port=port, socket_timeout=3).ping()


def test_certificate_rotation_under_writes_fails_no_write_and_moves_nothing():
    holders = lab.vip_holders()
    report = drill.drill(["rotate-certs"], runs=1, observe_s=5)
    run = report["runs"][0]
    print("\nMEASURED: certificate rotation (site.yml %s s): failed writes %.2f s, lost %s, acked %s, %s -> %s"
          % (run.get("playbook_s"), run["failed_s"], run["lost_acked"], run["acked"], run["old_master"],
             run["final_master"]))
    assert run["reissued"] == sorted("%s.crt" % n for n in lab.nodes()), run["reissued"]
    assert run.get("playbook_rc") == 0, run
    # The goal is no failed write (measured 0.00 s on a machine of its own); a shared 2-core machine stalled one
    # 200 ms write once (0.21 s): a generous bound, like the drills of test_30, and the figure is printed above.
    assert run["failed_s"] < FAILED_WRITES_BOUND_S, run
    assert run["lost_acked"] == 0, run
    assert run["acked"] > 100, run
    assert run["final_master"] == run["old_master"], run
    assert lab.vip_holders() == holders == [run["old_master"]]
    # every server and Sentinel serves the node certificate issued by the rotation
    for name, ip in lab.node_ips().items():
        issued = ssl.PEM_cert_to_DER_cert((lab.TLS_CA_DIR / ("%s.crt" % name)).read_text())
        for port in (lab.redis_port(), lab.sentinel_port()):
            assert _served_certificate(ip, port) == issued, (name, port)
