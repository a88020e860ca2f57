#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: vip_check
short_description: Tell whether this node should hold the Redis VIP (the keepalived track script's verdict)
version_added: "0.1.0"
description:
  - Runs exactly the same check as the keepalived track script installed by the C(keepalived) role
    (both are the package C(plugins/module_utils/_vipcheck)) and returns its verdict with the reasons.
  - The node should hold the VIP (I(verdict=promote)) only when the local Redis answers C(ROLE) as
    master after authenticating, B(and) at least the required number of the configured Sentinels
    answer in time and name this node's announced address and port as master of I(master_name)
    (C(SENTINEL get-master-addr-by-name)).
  - Everything else demotes - replica, connection refused, timeout, any error reply (C(-NOAUTH),
    C(-WRONGPASS), C(-NOPERM), C(-LOADING), C(-BUSY) ...), too few Sentinels, Sentinels naming another node,
    a nil reply (master name unknown to the Sentinel).
  - Settings come from I(config_file) (the track script's config file on the node), from the individual
    options, or both; options given override the values of the file.
  - All connections are made concurrently and the whole check is bounded by I(budget_ms). Unlike the
    track script, the module waits (within the budget) for every Sentinel so that it can report each
    answer; the verdict is the same.
  - The module never changes anything, does not write the track script's state file and does not log
    to syslog. A demote verdict is not a failure; use C(failed_when) on RV(verdict) to make it one.
author:
  - redis_ha maintainers (@redis-ha)
options:
  config_file:
    description:
      - Path of the track script's config file on the managed node (C(key=value) lines, see C(docs/check.md)).
      - Its C(state_file) and C(syslog_ident) keys are accepted and ignored.
    type: path
  redis_host:
    description: Address the check connects to for the local Redis. Default C(127.0.0.1).
    type: str
  redis_port:
    description: Port of the local Redis. Default C(6379).
    type: int
  redis_user:
    description: ACL user for C(AUTH user password) on the local Redis.
    type: str
  redis_password:
    description: Password for the local Redis (C(AUTH password) when no I(redis_user)).
    type: str
  announce_host:
    description:
      - Address or hostname the Sentinels use for this node's Redis (what they must name as master).
      - IP literals are compared canonically (IPv6 forms, IPv4-mapped IPv6); hostnames case-insensitively.
      - Required, in I(config_file) or as an option.
    type: str
  announce_port:
    description: Port the Sentinels use for this node's Redis. Default I(redis_port).
    type: int
  master_name:
    description: Name of the Sentinel master group. Required, in I(config_file) or as an option.
    type: str
  sentinels:
    description:
      - Sentinels to ask, each C(host:port) (IPv6 as C([addr]:port); port defaults to 26379).
      - Items may also be space-separated strings. Required, in I(config_file) or as an option.
    type: list
    elements: str
  sentinel_user:
    description: ACL user for the Sentinels.
    type: str
  sentinel_password:
    description: Password of the Sentinels (their C(requirepass) or the password of I(sentinel_user)).
    type: str
  agreement:
    description:
      - How many of the configured Sentinels must name this node.
      - C(majority) is floor(N/2)+1 of the configured Sentinels, C(all) is N, or an integer between 1 and N.
      - Default C(majority).
    type: str
  budget_ms:
    description: Time budget of the whole check in milliseconds (10-60000). Default 500.
    type: int
notes:
  - Supports check mode; it only reads.
  - Needs no Python library on the node besides the standard library.
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads; check mode changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Ask the node's own track script configuration
  redis_ha.sentinel_vip.vip_check:
    config_file: /etc/keepalived/redis-vip-check.conf
  register: vip

- name: The VIP must be on the node Sentinel considers the master
  ansible.builtin.assert:
    that: vip.promote == (inventory_hostname == current_master)

- name: Same file, but require every Sentinel to agree
  redis_ha.sentinel_vip.vip_check:
    config_file: /etc/keepalived/redis-vip-check.conf
    agreement: all

- name: Without a config file
  redis_ha.sentinel_vip.vip_check:
    redis_port: 6379
    redis_user: vipcheck
    redis_password: "{{ redis_check_password }}"
    announce_host: 10.0.0.11
    master_name: mymaster
    sentinels:
      - 10.0.0.11:26379
      - 10.0.0.12:26379
      - "[fd00::13]:26379"
    sentinel_password: "{{ sentinel_password }}"
  register: vip
  failed_when: vip.verdict != 'promote'
"""

RETURN = r"""
verdict:
  description: C(promote) (this node should hold the VIP) or C(demote).
  returned: always
  type: str
  sample: promote
promote:
  description: True when I(verdict=promote).
  returned: always
  type: bool
exit_code:
  description: The track script's exit code for this verdict (0 promote, 1 demote).
  returned: always
  type: int
  sample: 0
reason:
  description: One line explaining the verdict (the line the track script logs to syslog on a change).
  returned: always
  type: str
  sample: "local redis 127.0.0.1:6379 is master; 3/3 sentinels name 10.0.0.11:6379 master of 'mymaster' (2 required)"
redis:
  description: What the local Redis answered.
  returned: always
  type: dict
  contains:
    address:
      description: Address the check connected to.
      type: str
    status:
      description: C(ok), C(auth_failed), C(error) (error reply to ROLE), C(unreachable) (refused, timeout ...).
      type: str
    role:
      description: First word of the C(ROLE) reply (C(master), C(slave), C(sentinel)) or null.
      type: str
    master:
      description: True when the local Redis is master.
      type: bool
    offset:
      description: Replication offset from C(ROLE).
      type: int
    replicas:
      description: For a master, its connected replicas (address, offset).
      type: list
    master_address:
      description: For a replica, the master it replicates from.
      type: str
    link_status:
      description: For a replica, the link state (C(connect), C(connecting), C(sync), C(connected)).
      type: str
    error:
      description: Why the local Redis check failed (no secrets).
      type: str
sentinels:
  description: One entry per configured Sentinel, in configuration order.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The Sentinel asked.
      type: str
    status:
      description: >-
        C(agree), C(other_master), C(unknown_master) (nil reply), C(auth_failed), C(error), C(unreachable),
        or C(not_checked).
      type: str
    master:
      description: The master address the Sentinel named, or null.
      type: str
    agrees:
      description: True when it named this node.
      type: bool
    failover:
      description:
        - Null, or the failover this Sentinel is running on the group, from the state in which it has chosen
          the replica to promote - C(state), C(old_master), C(deposing_me) (the old master is this node) and
          C(promoted) (the chosen replica, when it was asked).
      type: dict
    error:
      description: Error text when it did not answer usefully.
      type: str
agreeing:
  description: Number of Sentinels that named this node.
  returned: always
  type: int
promoted_by:
  description:
    - Address of the Sentinel (failover leader) that flags this node as the replica it promoted, when
      that alone decided PROMOTE before the majority named this node; otherwise null.
  returned: always
  type: str
deposed_by:
  description:
    - Address of a Sentinel that is failing over this node (state C(send_slaveof_noone) or later);
      this node then DEMOTES even if the majority still names it. Otherwise null.
  returned: always
  type: str
required:
  description: Number of agreeing Sentinels needed to promote.
  returned: always
  type: int
configured:
  description: Number of configured Sentinels.
  returned: always
  type: int
answered:
  description: Number of Sentinels that gave a valid answer (any master or nil).
  returned: always
  type: int
agreement:
  description: The agreement rule (C(majority), C(all) or the integer).
  returned: always
  type: str
announce:
  description: The address the Sentinels had to name (canonical form).
  returned: always
  type: str
  sample: "10.0.0.11:6379"
master_name:
  description: The Sentinel master group asked about.
  returned: always
  type: str
elapsed_ms:
  description: Time the check took in milliseconds.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import tls_argument_spec
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.cli import EXIT_DEMOTE, EXIT_PROMOTE
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import ConfigError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.settings import load_settings
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.verdict import evaluate

_OVERRIDES = (
    "redis_host", "redis_port", "redis_user", "redis_password", "announce_host", "announce_port",
    "master_name", "sentinels", "sentinel_user", "sentinel_password", "agreement", "budget_ms",
)


def tls_overrides(params):
    """The check's tls* settings from the login_tls* options (unset: the config file's, else plaintext)."""
    if not params.get("login_tls"):
        return {}
    return {"tls": "yes", "tls_ca_file": params.get("login_tls_ca_file"), "tls_cert_file": params.get("login_tls_cert_file"),
            "tls_key_file": params.get("login_tls_key_file"), "tls_server_name": params.get("login_tls_server_name")}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_file=dict(type="path"),
            redis_host=dict(type="str"),
            redis_port=dict(type="int"),
            redis_user=dict(type="str"),
            redis_password=dict(type="str", no_log=True),
            announce_host=dict(type="str"),
            announce_port=dict(type="int"),
            master_name=dict(type="str"),
            sentinels=dict(type="list", elements="str"),
            sentinel_user=dict(type="str"),
            sentinel_password=dict(type="str", no_log=True),
            agreement=dict(type="str"),
            budget_ms=dict(type="int"),
            **tls_argument_spec()
        ),
        supports_check_mode=True,
    )
    overrides = {}
    for key in _OVERRIDES:
        value = module.params.get(key)
        if value is None:
            continue
        if key == "sentinels":
            value = " ".join(value)
        overrides[key] = str(value)
    overrides.update(tls_overrides(module.params))
    try:
        settings = load_settings(module.params.get("config_file"), overrides)
    except ConfigError as exc:
        module.fail_json(msg="vip_check configuration error: %s" % exc, changed=False)

    result = evaluate(settings, complete=True)
    result["exit_code"] = EXIT_PROMOTE if result["promote"] else EXIT_DEMOTE
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
