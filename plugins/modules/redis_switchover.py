#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_switchover
short_description: Planned zero-loss switchover of a Sentinel-managed Redis or Valkey master
version_added: "1.0.0"
description:
  - Performs a planned switchover of the group that the Sentinels in I(sentinels) monitor as I(master_name),
    in one module run so that the write pause stays short (C(playbooks/switchover.yml)). The sequence follows.
  - 1. Ask the Sentinels for the master (a majority must agree) and choose the target (I(target), or the best
    replica, i.e. link up, replica-priority not 0, lowest priority, largest replication offset).
  - 2. Set C(replica-priority 0) on the other replicas, so that Sentinel can only choose the target.
  - 3. C(CLIENT PAUSE <pause_ms> WRITE) on the old master; clients' writes block from now on.
  - 4. Wait until the target's replication offset reaches the old master's offset (every acknowledged write
    is on the target).
  - 5. C(SENTINEL FAILOVER) on one Sentinel (timed, see I(align_ms)), and wait until a majority of the
    Sentinels name the target (then the VIP check promotes it and keepalived moves the VIP).
  - 6. C(REPLICAOF target) on the old master (what Sentinel would do later anyway), then C(CLIENT UNPAUSE).
    Writes that were blocked on the old master now get C(-READONLY); none is accepted by a deposed master.
  - 7. Restore the replica priorities.
  - If anything fails before the Sentinels switched, the old master is unpaused and the priorities are
    restored; nothing else changed. The pause ends on its own after I(pause_ms) in any case.
  - Sentinel's own C(SENTINEL FAILOVER) alone does not stop the old master from accepting writes while the
    failover runs; those writes are lost when it is turned into a replica. The pause is what prevents that.
author:
  - redis_ha maintainers (@redis-ha)
options:
  login_user:
    description: ACL user for C(AUTH user password) on every Redis node of the group; it needs admin rights there.
    type: str
  login_password:
    description: Password of I(login_user), or of the C(default) user (C(requirepass)) when I(login_user) is not given.
    type: str
  sentinels:
    description: Sentinel addresses (C(host:port)) of the group, at least three.
    type: list
    elements: str
    required: true
  sentinel_password:
    description: Password of the Sentinels.
    type: str
  master_name:
    description: Sentinel group name.
    type: str
    default: mymaster
  redis_port:
    description: Redis port of the nodes.
    type: int
    default: 6379
  target:
    description: Address of the replica to promote; empty chooses the best replica.
    type: str
    default: ""
  pause_ms:
    description: Upper bound of the write pause on the old master in milliseconds; the switchover fails
      (and unpauses) if the Sentinels have not switched by then.
    type: int
    default: 5000
  align_ms:
    description:
      - Sentinel notices the promotion only at its next C(INFO) to the target, which it sends once a second
        during a failover, counted from its previous C(INFO) (every 10 s otherwise). The module watches the
        target (C(MONITOR), at most 12 s) for a Sentinel's periodic C(INFO) and starts the pause and the
        failover, on that Sentinel, I(align_ms) later, so that the next C(INFO) follows the promotion
        closely. Without it (C(0)) Sentinel needs about 1 s to notice the promotion.
    type: int
    default: 500
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Check mode reports the master and the target the switchover would choose and changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Planned switchover to the best replica
  redis_ha.sentinel_vip.redis_switchover:
    login_user: admin
    login_password: "{{ redis_admin_password }}"
    sentinels: [192.0.2.11:26379, 192.0.2.12:26379, 192.0.2.13:26379]
    sentinel_password: "{{ sentinel_password }}"
  run_once: true

- name: Planned switchover to a given replica
  redis_ha.sentinel_vip.redis_switchover:
    login_user: admin
    login_password: "{{ redis_admin_password }}"
    sentinels: [192.0.2.11:26379, 192.0.2.12:26379, 192.0.2.13:26379]
    sentinel_password: "{{ sentinel_password }}"
    target: 192.0.2.12
  run_once: true
"""

RETURN = r"""
aligned_to_sentinel:
  description: Sentinel whose periodic C(INFO) the failover was aligned to (null when not aligned).
  returned: changed
  type: str
old_master:
  description: Address of the master before the switchover.
  returned: always
  type: str
new_master:
  description: Address of the master after the switchover (the target).
  returned: always
  type: str
paused_ms:
  description: Milliseconds the old master's writes were paused.
  returned: changed
  type: float
steps:
  description: Milliseconds from the pause to each step of the switchover.
  returned: changed
  type: dict
switched:
  description: Whether a majority of the Sentinels named the target before the pause ended.
  returned: changed
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import login_tls, tls_argument_spec
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._switchover import Switchover
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import RespError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_user=dict(type="str"),
            login_password=dict(type="str", no_log=True),
            sentinels=dict(type="list", elements="str", required=True),
            sentinel_password=dict(type="str", no_log=True),
            master_name=dict(type="str", default="mymaster"),
            redis_port=dict(type="int", default=6379),
            target=dict(type="str", default=""),
            pause_ms=dict(type="int", default=5000),
            align_ms=dict(type="int", default=500),
            **tls_argument_spec()
        ),
        supports_check_mode=True,
    )
    if len(module.params["sentinels"]) < 3:
        module.fail_json(msg="switchover needs the addresses of the (at least three) Sentinels")
    try:
        module.exit_json(**Switchover(module.params, login_tls(module)).run(module.check_mode))
    except (RespError, OSError, RuntimeError, ValueError, KeyError) as exc:
        module.fail_json(msg="switchover failed: %s" % exc)


if __name__ == "__main__":
    main()
