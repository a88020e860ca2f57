# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connections: non-blocking TCP, optionally TLS (stdlib ssl, imported only when TLS is on), and the pool
of open connections the watcher keeps between evaluations (no new handshake every poll)."""

import _socket
import errno
import select

try:
    from posix import stat as _stat, strerror as _strerror  # os is not loaded yet in the track script
except ImportError:  # pragma: no cover - non-POSIX
    from os import stat as _stat, strerror as _strerror

from .errors import ConfigError

_WOULD_BLOCK = (BlockingIOError, InterruptedError)


def connect_nonblocking(family, sockaddr):
    """A non-blocking TCP socket whose connect is under way (or done); raises OSError."""
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        err = sock.connect_ex(sockaddr)
    except OSError:  # e.g. bad scope id
        sock.close()
        raise
    if err not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
        sock.close()
        raise OSError(err, _strerror(err))
    return sock


class TLS(object):
    """The client side of TLS: one ssl.SSLContext (CA, optional client certificate) and the name checked
    in the server's certificate (``server_name``, or else the host connected to)."""

    def __init__(self, options):
        import ssl  # costly: only when TLS is on
        self.ssl = ssl
        self.server_name = options.get("server_name")
        self.would_block = _WOULD_BLOCK + (ssl.SSLWantReadError, ssl.SSLWantWriteError)
        try:
            ctx = ssl.create_default_context(cafile=options.get("ca_file"))
            ctx.check_hostname = options.get("verify_hostname", True)
            if options.get("cert_file"):
                ctx.load_cert_chain(options["cert_file"], options.get("key_file"))
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise ConfigError("TLS: %s" % (getattr(exc, "strerror", None) or exc))
        self.context = ctx

    def wrap(self, sock, host):
        return self.context.wrap_socket(sock, server_hostname=self.server_name or host,
                                        do_handshake_on_connect=False)


_TLS_CACHE = {}


def _files_stamp(options):
    """When the CA, certificate and key files last changed: a rotation (new files at the same paths) loads
    them again."""
    stamp = []
    for name in ("ca_file", "cert_file", "key_file"):
        try:
            stamp.append(_stat(options[name]).st_mtime_ns if options.get(name) else 0)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def tls_for(settings):
    """The TLS object of these settings (one per process and configuration, loaded again when its files
    change), or None for plaintext; raises ConfigError when the CA, certificate or key cannot be loaded and
    none was loaded before (a rotation caught half done keeps the last pair that loaded)."""
    options = settings.get("tls")
    if not options:
        return None
    key = tuple(sorted(options.items()))
    stamp = _files_stamp(options)
    cached = _TLS_CACHE.get(key)
    if cached is None or cached[0] != stamp:
        try:
            _TLS_CACHE[key] = (stamp, TLS(options))
        except ConfigError:
            if cached is None:
                raise
    return _TLS_CACHE[key][1]


class Conn(object):
    """One non-blocking connection: TCP connect, then the TLS handshake when ``tls`` is given, then
    send/recv. ``mask`` is what to poll for while ``progress()`` (connect, handshake) is not done."""

    __slots__ = ("sock", "fd", "tls", "host", "open", "mask", "buf", "owed", "_shaking")

    def __init__(self, family, sockaddr, host, tls=None):
        self.sock = connect_nonblocking(family, sockaddr)
        self.fd = self.sock.fileno()
        self.tls, self.host = tls, host
        self.open = self._shaking = False
        self.mask = select.POLLOUT
        self.buf = b""   # bytes received and not parsed yet
        self.owed = 0    # replies still due to an earlier, abandoned exchange: to be skipped

    def progress(self):
        """Advance connect and handshake; True once open. Raises OSError (ssl.SSLError is one)."""
        if not self._shaking:
            err = self.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if err:
                raise OSError(err, _strerror(err))
            if self.tls is None:
                self.open = True
                return True
            self.sock = self.tls.wrap(self.sock, self.host)
            self._shaking = True
        try:
            self.sock.do_handshake()
        except self.tls.ssl.SSLWantReadError:
            self.mask = select.POLLIN
            return False
        except self.tls.ssl.SSLWantWriteError:
            self.mask = select.POLLOUT
            return False
        self.open, self._shaking = True, False
        return True

    def send(self, data):
        """Number of bytes sent, 0 when the socket cannot take any now; raises OSError."""
        try:
            return self.sock.send(data)
        except self.tls.would_block if self.tls else _WOULD_BLOCK:
            return 0

    def recv(self):
        """Bytes received, None when nothing is there yet, b"" when the server closed; raises OSError."""
        try:
            data = self.sock.recv(65536)
        except self.tls.would_block if self.tls else _WOULD_BLOCK:
            return None
        while data and self.tls is not None and self.sock.pending():
            data += self.sock.recv(65536)
        return data

    def unacked(self):
        """Bytes sent that the peer's TCP stack has not acknowledged yet (SIOCOUTQ), -1 when unknown. The kernel
        acknowledges what a stalled or busy server has not read: 0 shows the host is up and reachable."""
        import fcntl
        import struct
        import termios
        try:
            return struct.unpack("i", fcntl.ioctl(self.fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return -1

    def close(self):
        self.sock.close()


class Pool(object):
    """Open connections kept between evaluations (the watcher), one per (host, port)."""

    def __init__(self):
        self.idle = {}

    def take(self, host, port):
        return self.idle.pop((host, port), None)

    def give(self, host, port, conn):
        old = self.idle.pop((host, port), None)
        if old is not None:
            old.close()
        self.idle[(host, port)] = conn

    def close(self):
        for conn in self.idle.values():
            conn.close()
        self.idle = {}
