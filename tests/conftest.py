"""Suite-wide: print the time each part of the suite took (the suite has a 60-minute budget).

`make test` notes when it started, before its set-up (venv, host packages, images, collection), and passes
it as REDIS_HA_SUITE_STARTED; the summary reports that set-up time, and a heartbeat line every few minutes says how long the suite has run
and which part it is in, so even a log cut off by CI's time limit shows where the time went."""

import collections
import os
import sys
import threading
import time

_STARTED = time.monotonic()
_STARTED_WALL = time.time()
_DURATIONS = collections.OrderedDict()
_CURRENT = {"part": "collection", "since": time.monotonic()}
HEARTBEAT_S = 300


def _setup_seconds():
    """Seconds `make test` spent before pytest started, or None when pytest was run by hand."""
    try:
        seconds = _STARTED_WALL - float(os.environ["REDIS_HA_SUITE_STARTED"])
    except (KeyError, ValueError):
        return None
    return seconds if 0 <= seconds < 6 * 3600 else None


def _part(nodeid: str) -> str:
    path = nodeid.split("::")[0]
    if path.startswith("tests/integration/"):
        return "molecule " + nodeid.split("[", 1)[-1].rstrip("]") if "[" in nodeid else path
    return "/".join(path.split("/")[:2])


def _status() -> str:
    setup = _setup_seconds()
    done = ", ".join("%s %.0f s" % item for item in _DURATIONS.items() if item[0] != _CURRENT["part"]) or "none"
    return "[suite +%.0f s since make test%s] in %s for %.0f s; done: %s" % (
        time.monotonic() - _STARTED + (setup or 0), "" if setup is None else " (set-up %.0f s)" % setup,
        _CURRENT["part"], time.monotonic() - _CURRENT["since"], done)


def _heartbeat():
    while True:
        time.sleep(HEARTBEAT_S)
        sys.__stdout__.write("\n%s\n" % _status())
        sys.__stdout__.flush()


def pytest_sessionstart(session):
    setup = _setup_seconds()
    if setup is not None:
        sys.__stdout__.write("[suite] set-up before pytest (venv, host packages, images, collection): %.0f s\n" % setup)
    threading.Thread(target=_heartbeat, name="suite-heartbeat", daemon=True).start()


def pytest_runtest_logstart(nodeid, location):
    if _part(nodeid) != _CURRENT["part"]:
        _CURRENT.update(part=_part(nodeid), since=time.monotonic())
        sys.__stdout__.write("\n%s\n" % _status())
        sys.__stdout__.flush()


def pytest_runtest_logreport(report):
    _DURATIONS[_part(report.nodeid)] = _DURATIONS.get(_part(report.nodeid), 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("suite time per part (budget: 60 min)")
    setup = _setup_seconds()
    if setup is not None:
        terminalreporter.write_line("%-40s %7.1f s" % ("set-up before pytest", setup))
    for part, seconds in _DURATIONS.items():
        terminalreporter.write_line("%-40s %7.1f s" % (part, seconds))
    terminalreporter.write_line("%-40s %7.1f s" % ("total (wall clock)", time.monotonic() - _STARTED + (setup or 0)))
