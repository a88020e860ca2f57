"""TLS for the VIP check tests: a private CA made with the openssl CLI (scripts/lab-own-ca.sh), and REAL redis-server /
redis-sentinel processes listening on TLS only (`port 0`, `tls-port`), replicating and linking over TLS
(`tls-replication yes`), with client certificates required (`tls-auth-clients yes`)."""

import pathlib
import ssl
import subprocess
import time

from vipcheck_helpers import ADMIN_PW, CHECK_PW, CHECK_USER, SENTINEL_PW, Proc, free_port, vc

_OWN_CA = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "lab-own-ca.sh"


def _own_ca(d):
    """scripts/lab-own-ca.sh (the openssl CA of the lab's own-CA mode): a certificate "server" for 127.0.0.1 and ::1
    (server and client use) and "lab-client"; missing files only."""
    subprocess.run([str(_OWN_CA), str(d), "::1", "server=127.0.0.1"], check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A CA, a certificate for the servers (also their client certificate: replication, Sentinel links)
    and one for the check, all in directory d; returns a dict of paths."""
    _own_ca(d)
    return {k: str(d / v) for k, v in (("ca", "ca.crt"), ("server_cert", "server.crt"),
                                       ("server_key", "server.key"), ("client_cert", "lab-client.crt"),
                                       ("client_key", "lab-client.key"))}


def reissue_server_certificate(pki):
    """A new certificate for the servers' key at the same path (a rotation); its DER bytes."""
    cert = pathlib.Path(pki["server_cert"])
    cert.unlink()
    _own_ca(cert.parent)
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def tls_lines(pki, port, auth_clients="yes"):
    return ["port 0", "tls-port %d" % port, "tls-cert-file %s" % pki["server_cert"],
            "tls-key-file %s" % pki["server_key"], "tls-ca-cert-file %s" % pki["ca"],
            "tls-auth-clients %s" % auth_clients, "tls-replication yes"]


def tls_cfg(pki, client_cert=True):
    """The check's TLS config keys (as the keepalived role writes them)."""
    keys = {"tls": "yes", "tls_ca_file": pki["ca"],
            "budget_ms": 3000}  # generous: a new process imports ssl and handshakes on a shared machine
    if client_cert:
        keys.update(tls_cert_file=pki["client_cert"], tls_key_file=pki["client_key"])
    return keys


def client_tls(pki, cert=None, key=None):
    """The client TLS object for test calls (the check's own, with the client certificate, or cert and key)."""
    return vc.tls_for({"tls": {"ca_file": pki["ca"], "cert_file": str(cert or pki["client_cert"]),
                               "key_file": str(key or pki["client_key"]), "server_name": None,
                               "verify_hostname": True}})


def call(pki, port, *args, password=ADMIN_PW):
    return vc.redis_pipeline("127.0.0.1", port, [list(args)], password=password, timeout=5,
                             tls=client_tls(pki))[0]


def _wait_ready(pki, proc, password, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        if proc.popen.poll() is not None:
            raise RuntimeError("%s on port %d exited: %s" % (proc.kind, proc.port, proc.tail()))
        try:
            if call(pki, proc.port, "PING", password=password) == b"PONG":
                return proc
        except (OSError, vc.RespError) as exc:
            if time.monotonic() > end:
                raise RuntimeError("%s on port %d not ready: %r %s" % (proc.kind, proc.port, exc, proc.tail()))
        time.sleep(0.02)


def start_tls_redis(pki, workdir, extra=()):
    port = free_port()
    proc = Proc("redis", port, workdir, ["requirepass %s" % ADMIN_PW, "repl-diskless-sync-delay 0"]
                + tls_lines(pki, port) + list(extra))
    _wait_ready(pki, proc, ADMIN_PW)
    add_check_user(pki, port)
    return proc


def add_check_user(pki, port):
    call(pki, port, "ACL", "SETUSER", CHECK_USER, "reset", "on", ">" + CHECK_PW, "-@all", "+role", "+ping",
         "+info")


def start_tls_sentinels(pki, base, master, count, quorum=2):
    sentinels = []
    for i in range(count):
        port = free_port()
        lines = ["requirepass %s" % SENTINEL_PW, "sentinel sentinel-pass %s" % SENTINEL_PW,
                 "sentinel monitor mymaster 127.0.0.1 %d %d" % (master.port, quorum),
                 "sentinel auth-pass mymaster %s" % ADMIN_PW,
                 "sentinel down-after-milliseconds mymaster 600000",
                 "sentinel failover-timeout mymaster 600000"] + tls_lines(pki, port)
        sentinels.append(Proc("sentinel", port, base / ("tls-sentinel%d" % i), lines))
    for s in sentinels:
        _wait_ready(pki, s, SENTINEL_PW)
    return sentinels


def wait_tls_cluster(pki, master, replica, sentinels, timeout=15.0):
    """Until the replica is attached over TLS and every Sentinel names the master."""
    end = time.monotonic() + timeout
    while True:
        role = call(pki, replica.port, "ROLE")
        ok = role[0] == b"slave" and role[3] == b"connected"
        for s in sentinels:
            addr = call(pki, s.port, "SENTINEL", "get-master-addr-by-name", "mymaster", password=SENTINEL_PW)
            ok = ok and addr is not None and int(addr[1]) == master.port
        if ok:
            return
        if time.monotonic() > end:
            raise RuntimeError("TLS cluster not ready: replica role %r" % (role,))
        time.sleep(0.05)
