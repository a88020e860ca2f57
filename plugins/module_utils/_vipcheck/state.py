# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verdict memory (the state file), atomic file replacement and the one syslog line per change."""

from .findings import redact
from .settings import DEFAULT_SYSLOG_IDENT
from .verdict import PROMOTE


def read_state(path):
    """Previous verdict ('promote'/'demote') or None if unknown/unreadable."""
    try:
        with open(path, "rb") as fh:
            word = fh.read(64).split(b"\n", 1)[0].strip()
    except OSError:
        return None
    if word in (b"promote", b"demote"):
        return word.decode("ascii")
    return None


def replace_file(path, data, mode=0o640):
    """Atomically replace a file (tmp file + rename). Returns None on success or the error text."""
    import os  # only on a change: keep the every-second path light
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return "%s: %s" % (exc.filename or path, exc.strerror or exc)
    return None


def write_state(path, verdict, reason=""):
    """Remember the verdict (and why) in the state file. Returns None or the error text."""
    return replace_file(path, ("%s\n%s\n" % (verdict, reason)).encode("utf-8", "replace"))


def record_verdict(settings, result, log=True):
    """Remember the verdict in ``state_file`` and log ONE syslog line when
    it differs from the remembered one.  Returns True when it logged.

    Without ``state_file`` nothing is remembered or logged.  If the state
    file cannot be read (missing, garbage, no permission) the previous
    verdict counts as unknown, so the current one is logged and written.
    If it cannot be written the log line says so; the next run will again
    see "unknown" and log again (loud on purpose: it is a misconfiguration).
    The verdict itself never depends on the state file.
    """
    path = settings.get("state_file")
    if not path:
        return False
    previous = read_state(path)
    verdict = result["verdict"]
    if previous == verdict:
        return False
    problem = write_state(path, verdict, result["reason"])
    msg = "VIP check verdict %s (was %s): %s" % (
        verdict.upper(), previous.upper() if previous else "unknown", result["reason"])
    if problem:
        msg += " [state file not written: %s]" % problem
    msg = redact(msg, settings)
    if log:
        import syslog
        syslog.openlog(settings.get("syslog_ident") or DEFAULT_SYSLOG_IDENT, syslog.LOG_PID,
                       syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_NOTICE if verdict == PROMOTE else syslog.LOG_WARNING, msg)
        syslog.closelog()
    return True
