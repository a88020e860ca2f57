#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_command
short_description: Run one Redis or Sentinel command
version_added: "0.1.0"
description:
  - Sends I(command) (after C(AUTH) when a password is given) to I(login_host) and returns the reply.
    Always reports C(changed) unless I(read_only) is true; use C(changed_when).
  - The planned switchover of a Sentinel-managed master is the module M(redis_ha.sentinel_vip.redis_switchover).
author:
  - redis_ha maintainers (@redis-ha)
options:
  command:
    description: The command and its arguments, one list item each.
    type: list
    elements: str
    required: true
  read_only:
    description: The command changes nothing (report C(changed=false), run in check mode too).
    type: bool
    default: false
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: partial
    details: Check mode runs I(command) only when I(read_only) is true.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Ask Redis for its role
  redis_ha.sentinel_vip.redis_command:
    login_user: admin
    login_password: "{{ redis_admin_password }}"
    command: [ROLE]
    read_only: true
"""

RETURN = r"""
reply:
  description: Reply of I(command) (bytes decoded as UTF-8, errors raise a failure).
  returned: always
  type: raw
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import login_argument_spec, login_tls
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.client import redis_call
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import ReplyError, RespError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.resp import resp_to_text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_argument_spec(6379),
            command=dict(type="list", elements="str", required=True),
            read_only=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode and not p["read_only"]:
        module.exit_json(changed=True, reply=None)
    # The current password, then (a rotation under way) the previous one.
    passwords = [p["login_password"]] + ([p["login_password_previous"]] if p["login_password_previous"] else [])
    while True:
        try:
            reply = redis_call(p["login_host"], p["login_port"], p["command"], user=p["login_user"],
                               password=passwords.pop(0), timeout=5.0, tls=login_tls(module))
            break
        except ReplyError as exc:
            if exc.code not in ("WRONGPASS", "NOAUTH") or not passwords:
                module.fail_json(msg="%s failed: %s" % (p["command"][0], exc))
        except (RespError, OSError) as exc:
            module.fail_json(msg="%s failed: %s" % (p["command"][0], exc))
    module.exit_json(changed=not p["read_only"], reply=resp_to_text(reply))


if __name__ == "__main__":
    main()
