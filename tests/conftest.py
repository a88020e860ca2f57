"""Suite-wide: print the time each part of the suite took (the suite has a 60-minute budget)."""

import collections
import time

_STARTED = time.monotonic()
_DURATIONS = collections.OrderedDict()


def _part(nodeid: str) -> str:
    path = nodeid.split("::")[0]
    if path.startswith("tests/integration/"):
        return "molecule " + nodeid.split("[", 1)[-1].rstrip("]") if "[" in nodeid else path
    return "/".join(path.split("/")[:2])


def pytest_runtest_logreport(report):
    _DURATIONS[_part(report.nodeid)] = _DURATIONS.get(_part(report.nodeid), 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("suite time per part (budget: 60 min)")
    for part, seconds in _DURATIONS.items():
        terminalreporter.write_line("%-40s %7.1f s" % (part, seconds))
    terminalreporter.write_line("%-40s %7.1f s" % ("total (wall clock)", time.monotonic() - _STARTED))
