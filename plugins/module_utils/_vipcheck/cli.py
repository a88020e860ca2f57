# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line of the track script and the watcher (run by the node launcher vip_check.py)."""

import sys
import time

from .errors import ConfigError
from .settings import build_settings, read_config
from .state import read_state, record_verdict
from .transport import tls_for
from .verdict import evaluate

_monotonic = time.monotonic

EXIT_PROMOTE = 0
EXIT_DEMOTE = 1
EXIT_CONFIG = 2


def script_run(settings, start):
    """One track-script run: evaluate, then with ``watch_ms`` keep re-evaluating every ``poll_ms``.

    keepalived cannot run a vrrp_script more often than once a second, so a change (a new master
    promoted by Sentinel, a master deposed) would wait up to a second for the next run. With
    ``watch_ms`` the run goes on watching while its verdict equals the remembered one (state file)
    and ends at the first evaluation that differs, so keepalived learns of it at once. A new
    evaluation starts only if it can finish, with its full budget, within ``watch_ms`` of the start;
    keepalived's vrrp_script timeout must exceed ``watch_ms``. Without a remembered verdict (no
    state file, first run) the first evaluation is final.
    """
    result = evaluate(settings, start=start)
    limit = settings.get("watch_ms") or 0
    if not limit or not settings.get("state_file"):
        return result
    previous = read_state(settings["state_file"])
    poll = settings["poll_ms"] / 1000.0
    reserve = (settings["budget_ms"] + settings["poll_ms"]) / 1000.0
    while previous == result["verdict"] and _monotonic() - start + reserve <= limit / 1000.0:
        time.sleep(poll)
        result = evaluate(settings)
    return result


def load(path):
    """The settings of a config file, TLS certificates loaded (ConfigError when they cannot be)."""
    settings = build_settings(read_config(path))
    tls_for(settings)
    return settings


def main(argv):
    """keepalived entry point: ``vip_check.py CONFIG_FILE``; returns exit code.
    ``vip_check.py --watch CONFIG_FILE`` runs the watcher (see serve) until SIGTERM."""
    start = _monotonic()
    watcher = len(argv) == 2 and argv[0] == "--watch"
    if not watcher and (len(argv) != 1 or argv[0].startswith("-")):
        sys.stderr.write("usage: vip_check.py CONFIG_FILE | vip_check.py --watch CONFIG_FILE\n"
                         "exit 0 = hold the VIP, 1 = do not, 2 = config/usage error\n")
        return EXIT_CONFIG
    try:
        settings = load(argv[-1])
    except ConfigError as exc:
        sys.stderr.write("vip_check: config error: %s\n" % exc)
        return EXIT_CONFIG
    if watcher:
        from .watcher import serve  # only the watcher needs the event feed
        try:
            return serve(settings, path=argv[-1], load=load)
        except ConfigError as exc:
            sys.stderr.write("vip_check: config error: %s\n" % exc)
            return EXIT_CONFIG
    try:
        result = script_run(settings, start)
    except Exception as exc:  # a bug must not hold the VIP; no traceback (no secrets on stderr)
        sys.stderr.write("vip_check: internal error: %s\n" % exc.__class__.__name__)
        return EXIT_DEMOTE
    try:
        record_verdict(settings, result)
    except Exception:  # logging must never change the verdict
        pass
    return EXIT_PROMOTE if result["promote"] else EXIT_DEMOTE
