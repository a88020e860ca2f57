#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_auth_check
short_description: Tell which credentials a running Redis or Sentinel accepts (read only)
version_added: "1.0.0"
description:
  - Sends C(AUTH) (with the user when given) for each entry of I(credentials) to I(login_host) at the
    entry's port, all at once within I(timeout), and sorts the entries by the answer. Nothing is changed.
  - The preflight of C(playbooks/site.yml) uses it to refuse an inventory whose passwords differ from the
    ones a running group uses, before the roles would write them into the track script's or Sentinel's
    configuration (which would drop the VIP or blind the Sentinels).
  - An entry counts as I(refused) only on C(-WRONGPASS) (wrong password, unknown or disabled user) or
    C(-NOAUTH); other answers (no server on that port, an error such as "no password is set") make it
    I(unknown), never I(refused).
  - An entry with a I(previous) password (a rotation under way) is tried with both. A refused I(password)
    whose I(previous) is accepted counts as I(rotating) (the rotation starts, or resumes), not as I(refused);
    an accepted I(password) whose I(previous) is refused puts the entry in I(previous_refused) as well (a
    previous password the server never had, or one a finished rotation already removed).
author:
  - redis_ha maintainers (@redis-ha)
options:
  login_host:
    description: Address of the servers (IPv4, IPv6 or hostname).
    type: str
    default: 127.0.0.1
  credentials:
    description: The credentials to try.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A label reported back (e.g. the inventory variable holding the password).
        type: str
        required: true
      port:
        description: Port of the Redis server or Sentinel.
        type: int
        required: true
      user:
        description: ACL user (omit for the default user / C(requirepass)).
        type: str
      password:
        description: The password to try.
        type: str
        required: true
      previous:
        description: The previous password, while a rotation of I(password) is under way (empty for none).
        type: str
  timeout:
    description: Seconds for all of them together.
    type: float
    default: 5
notes:
  - Needs no Python library on the node besides the standard library.
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It only reads (C(AUTH)); check mode changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: redis_ha.sentinel_vip.redis_command
"""

EXAMPLES = r"""
- name: Which of the inventory's passwords does the running Redis accept?
  redis_ha.sentinel_vip.redis_auth_check:
    credentials:
      - {name: redis_admin_password, port: 6379, user: admin, password: "{{ redis_admin_password }}"}
      - {name: sentinel_password, port: 26379, password: "{{ sentinel_password }}",
         previous: "{{ sentinel_password_previous }}"}
  register: auth
  no_log: true
"""

RETURN = r"""
accepted:
  description: Names of the entries the server accepted.
  returned: always
  type: list
  elements: str
refused:
  description: Names of the entries refused with C(-WRONGPASS) or C(-NOAUTH).
  returned: always
  type: list
  elements: str
rotating:
  description: Names of the entries whose I(password) was refused but whose I(previous) was accepted.
  returned: always
  type: list
  elements: str
previous_refused:
  description: Names of the entries whose I(password) was accepted but whose I(previous) was refused.
  returned: always
  type: list
  elements: str
unknown:
  description: Names of the entries that could not be decided, with the reason (no secret in it).
  returned: always
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import login_tls, tls_argument_spec
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.client import Exchange, run_exchanges
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import ReplyError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.resp import auth_command

REFUSED_CODES = ("WRONGPASS", "NOAUTH")


def _answer(ex):
    """'accepted', 'refused', or the reason it is unknown, of one AUTH exchange."""
    if not ex.complete:
        return "no answer: %s" % (ex.error.__class__.__name__ if ex.error else "timeout")
    if isinstance(ex.replies[0], ReplyError):
        return "refused" if ex.replies[0].code in REFUSED_CODES else "error reply %s" % ex.replies[0].code
    return "accepted"


def classify(credentials, host, timeout, tls=None):
    """A dict of lists accepted, refused, rotating, previous_refused and the dict unknown (module RETURN),
    after one concurrent round of AUTH (the password, and the previous one when given; ``tls``: see
    Exchange)."""
    tries = []
    for c in credentials:
        tries.append((c["name"], "password", Exchange(host, c["port"], [auth_command(c.get("user"), c["password"])], tls=tls)))
        if c.get("previous"):
            tries.append((c["name"], "previous",
                          Exchange(host, c["port"], [auth_command(c.get("user"), c["previous"])], tls=tls)))
    run_exchanges([ex for _n, _k, ex in tries], time.monotonic() + timeout)
    answers = {}
    for name, kind, ex in tries:
        answers.setdefault(name, {})[kind] = _answer(ex)
    out = dict(accepted=[], refused=[], rotating=[], previous_refused=[], unknown={})
    for c in credentials:
        name, got = c["name"], answers[c["name"]]
        current, previous = got["password"], got.get("previous")
        if current == "accepted":
            out["accepted"].append(name)
            if previous == "refused":
                out["previous_refused"].append(name)
        elif current == "refused" and previous == "accepted":
            out["rotating"].append(name)
        elif current == "refused" and previous in (None, "refused"):
            out["refused"].append(name)
        else:
            out["unknown"][name] = current if current != "refused" else "previous: %s" % previous
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_host=dict(type="str", default="127.0.0.1"),
            credentials=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                port=dict(type="int", required=True),
                user=dict(type="str"),
                password=dict(type="str", required=True, no_log=True),
                previous=dict(type="str", no_log=True),
            )),
            timeout=dict(type="float", default=5.0),
            **tls_argument_spec()
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **classify(module.params["credentials"], module.params["login_host"],
                                               module.params["timeout"], tls=login_tls(module)))


if __name__ == "__main__":
    main()
