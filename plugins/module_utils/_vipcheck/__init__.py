# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Sentinel-aware VIP check (see docs/check.md), one implementation for three users:

* keepalived's track script and the watcher service: the node launcher roles/keepalived/files/vip_check.py
  imports ``cli.main`` from this package, installed on the nodes as ``redis_vip_check/``;
* the ``redis_ha.sentinel_vip.vip_check`` module (``settings``, ``verdict``);
* the collection's other modules (``client``, ``resp``, ``addresses``).

Modules, bottom-up: errors, resp (RESP2 encoding/parsing), addresses (host:port), client (the
connections: concurrent non-blocking exchanges and blocking helpers), settings (the config file),
findings (what each answer says), verdict (evaluate), state (state file, syslog), events (Sentinel
event subscriptions), watcher (``--watch``), cli (the command line).

Standard library only, and only cheap built-in modules at import time, because the track script runs
every second on every node. This file stays empty so that importing one module imports only what it needs.
"""
