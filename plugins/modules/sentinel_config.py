#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: sentinel_config
short_description: Converge the per-master settings of a running Redis Sentinel (SENTINEL MASTER / SENTINEL SET)
version_added: "0.1.0"
description:
  - The C(sentinel) role writes the Sentinel configuration file only once, because from then on Sentinel
    owns it (it records the current master, replicas, other Sentinels and epochs there). This module
    applies later changes of the per-master settings through Sentinel itself; Sentinel persists every
    C(SENTINEL SET) in its own configuration file at once.
  - Reads C(SENTINEL MASTER <master_name>), compares the settings given, and sends one
    C(SENTINEL SET <master_name> <field> <value>) per field that differs.
  - Talks to one Sentinel, the one at I(login_host):I(login_port). Per-master settings, C(quorum)
    included, are local to each Sentinel (they are not propagated to the others), so run it against every
    Sentinel.
  - Fields are applied one by one (Sentinel has no atomic multi-field C(SENTINEL SET)); if Sentinel
    refuses one, the module fails naming it, and RV(changed_settings) lists the fields already applied.
author:
  - redis_ha maintainers (@redis-ha)
options:
  login_port:
    description: Port of the Sentinel (the other I(login_*) options are those of the Sentinel too).
    type: int
    default: 26379
  master_name:
    description: Name of the monitored master (as in C(sentinel monitor)). The module never creates it.
    type: str
    required: true
  settings:
    description:
      - Wanted per-master settings, C(field -> value), among C(down-after-milliseconds), C(failover-timeout),
        C(parallel-syncs), C(quorum), C(notification-script), C(client-reconfig-script) and
        C(master-reboot-down-after-period).
      - Only fields that Sentinel reports in C(SENTINEL MASTER) can be converged; a field it does not report
        is refused (Redis 7.0 does not report C(master-reboot-down-after-period); the two script fields
        count as empty when not reported). Script paths can only be set when the Sentinel runs with
        C(sentinel deny-scripts-reconfig no).
      - Values are strings or integers without blanks, quotes, backslashes or control characters (Sentinel
        7.0 writes them unquoted into its configuration file).
      - C(auth-user) and C(auth-pass) are not accepted here; use I(auth_user) and I(auth_pass).
    type: dict
    default: {}
  auth_user:
    description:
      - ACL user Sentinel uses to authenticate to the Redis servers (C(SENTINEL SET <name> auth-user)).
      - Sentinel never reports it, so it is only sent when I(update_password=always).
    type: str
  auth_pass:
    description:
      - Password Sentinel uses to authenticate to the Redis servers (C(SENTINEL SET <name> auth-pass)).
      - Sentinel never reports it, so it cannot be compared; it is only sent when I(update_password=always),
        and then the task always reports a change. It is never returned or logged.
      - Must be free of blanks, quotes, backslashes and control characters (Sentinel 7.0 writes it unquoted
        into its configuration file and could not read it back).
    type: str
  passwords:
    description:
      - The passwords this Sentinel accepts from its clients and the other Sentinels (its C(default) user,
        C(requirepass)), all of them; several let a rotation go without a failed login (the new one beside
        the old one, then the old one removed).
      - Compared as SHA-256 hashes with C(ACL GETUSER default); when they differ, one
        C(ACL SETUSER default resetpass) with each hash (one command, atomic; connections already authenticated stay), then
        C(SENTINEL FLUSHCONFIG), so Sentinel writes its users into its own configuration file (a C(user default)
        line, which wins over the C(requirepass) line at the next start).
      - Empty passwords in the list are left out. Not given or empty, the accepted passwords are left alone.
    type: list
    elements: str
  sentinel_pass:
    description:
      - Password this Sentinel gives to the other Sentinels (C(SENTINEL CONFIG SET sentinel-pass)), compared
        with C(SENTINEL CONFIG GET sentinel-pass); Sentinel persists it at once. Not given, it is left alone.
      - Must be free of blanks, quotes, backslashes and control characters (written unquoted).
    type: str
  announce_port:
    description:
      - Port this Sentinel announces in its hello messages to the other Sentinels (C(SENTINEL CONFIG SET
        announce-port)), compared with C(SENTINEL CONFIG GET announce-port); Sentinel persists it at once.
      - C(0) lets Sentinel choose (its C(tls-port) with C(tls-replication yes), else its C(port)). Not given, it is
        left alone.
    type: int
  update_password:
    description:
      - C(on_create) - never send I(auth_user)/I(auth_pass); they were written when the master was created
        (the C(sentinel) role's C(sentinel monitor)), and this module never creates a master.
      - C(always) - send them on every run (reported as changed every time, since they cannot be read back).
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - Supports check mode and diff mode. Check mode only reads (C(SENTINEL MASTER)).
  - Values are compared as integers when both sides are integers, otherwise as exact strings.
  - The module never writes its invocation to the managed node's journal (AnsibleModule C(no_log)),
    because I(settings) is a free-form dict whose values the argument spec cannot mask.
  - Global Sentinel settings (C(SENTINEL CONFIG SET)) other than I(sentinel_pass) and I(announce_port) are out of
    scope; Sentinel owns the master address.
  - The changes of one run go in this order, I(passwords), I(sentinel_pass), I(announce_port), I(settings),
    I(auth_user)/I(auth_pass).
  - Needs no Python library on the node besides the standard library.
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Check mode only reads (C(SENTINEL MASTER)).
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: redis_ha.sentinel_vip.redis_config
"""

EXAMPLES = r"""
- name: Apply inventory changes to the running Sentinel (it persists them itself)
  redis_ha.sentinel_vip.sentinel_config:
    login_password: "{{ sentinel_password }}"
    master_name: "{{ sentinel_master_name }}"
    settings:
      down-after-milliseconds: "{{ sentinel_down_after_milliseconds }}"
      failover-timeout: "{{ sentinel_failover_timeout }}"
      parallel-syncs: "{{ sentinel_parallel_syncs }}"
      quorum: "{{ sentinel_quorum }}"

- name: Rotate the password Sentinel uses for Redis (reported as changed on every run)
  redis_ha.sentinel_vip.sentinel_config:
    login_password: "{{ sentinel_password }}"
    master_name: "{{ sentinel_master_name }}"
    auth_user: "{{ sentinel_redis_user }}"
    auth_pass: "{{ sentinel_redis_password }}"
    update_password: always

- name: Accept a new Sentinel password beside the old one (rotation, first step)
  redis_ha.sentinel_vip.sentinel_config:
    login_password: "{{ sentinel_password }}"
    login_password_previous: "{{ sentinel_password_previous }}"
    master_name: "{{ sentinel_master_name }}"
    passwords: ["{{ sentinel_password }}", "{{ sentinel_password_previous }}"]
  no_log: true
"""

RETURN = r"""
changed_settings:
  description:
    - The fields that were changed (or would be in check mode), C(field -> {before, after}).
    - C(after) is what Sentinel reports after the change (the wanted value in check mode).
    - For C(auth-user) and C(auth-pass) C(before) is null (not readable); the password is C((hidden)).
    - I(passwords) are reported as C(passwords) and I(sentinel_pass) as C(sentinel-pass), both C((hidden));
      I(announce_port) as C(announce-port).
  returned: always
  type: dict
  sample:
    down-after-milliseconds: {"before": "5000", "after": "3000"}
    auth-pass: {"before": null, "after": "(hidden)"}
master_name:
  description: The master whose settings were converged.
  returned: always
  type: str
  sample: mymaster
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._runtime_config import (
    acl_passwords_commands, acl_passwords_todo, login_argument_spec, make_caller, settings_diff,
)
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.addresses import format_hostport
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import ReplyError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.resp import resp_to_text

HIDDEN = "(hidden)"

SETTABLE = frozenset((
    "down-after-milliseconds", "failover-timeout", "parallel-syncs", "quorum", "notification-script",
    "client-reconfig-script", "master-reboot-down-after-period",
))
# Optional fields: SENTINEL MASTER lists them only when set.
EMPTY_WHEN_ABSENT = frozenset(("notification-script", "client-reconfig-script"))
CREDENTIALS = frozenset(("auth-user", "auth-pass"))
# Sentinel 7.0 writes per-master values unquoted into sentinel.conf.
_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
_INT = re.compile(r"^[+-]?[0-9]+$")


class SettingError(ValueError):
    """A wanted field the module refuses (message names the field)."""


def value_to_text(field, value):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SettingError("field %r: value must be a string or an integer, not %s"
                           % (field, "a boolean" if isinstance(value, bool) else type(value).__name__))
    text = str(value)
    if _UNSAFE.search(text):
        raise SettingError("field %r: value must be free of blanks, quotes, backslashes and control characters "
                           "(Sentinel writes it unquoted into its configuration file)" % field)
    return text


def check_field(raw):
    field = str(raw).strip().lower()
    if field in CREDENTIALS:
        raise SettingError("field %r is write-only in Sentinel: give it as the %s option (with update_password), "
                           "not in settings" % (field, field.replace("-", "_")))
    if field in ("ip", "port", "monitor", "remove", "reset"):
        raise SettingError("field %r cannot be set: Sentinel owns the master address" % field)
    if field not in SETTABLE:
        raise SettingError("field %r is not a per-master setting this module converges (known: %s)"
                           % (field, ", ".join(sorted(SETTABLE))))
    return field


def wanted_settings(settings):
    """[(field, text)] sorted; raises SettingError."""
    wanted = {}
    for raw in sorted(settings or {}, key=str):
        field = check_field(raw)
        if field in wanted:
            raise SettingError("field %r is given twice" % field)
        wanted[field] = value_to_text(field, settings[raw])
    return sorted(wanted.items())


def same_value(wanted, current):
    if wanted == current:
        return True
    if _INT.match(wanted) and _INT.match(current):
        return int(wanted) == int(current)
    return False


def master_fields(reply):
    """dict of the flat field/value list of SENTINEL MASTER."""
    items = resp_to_text(reply)
    if not isinstance(items, list):
        return None
    return dict((str(k), v if isinstance(v, str) else str(v)) for k, v in zip(items[0::2], items[1::2]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_argument_spec(26379),
            master_name=dict(type="str", required=True),
            settings=dict(type="dict", default={}),
            auth_user=dict(type="str"),
            auth_pass=dict(type="str", no_log=True),
            passwords=dict(type="list", elements="str", no_log=True),
            sentinel_pass=dict(type="str", no_log=True),
            announce_port=dict(type="int"),
            # A policy (on_create/always), not a secret: its name only looks like one to Ansible's check.
            update_password=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
        ),
        supports_check_mode=True,
        # settings is free-form: never log the invocation to the node's journal.
        no_log=True,
    )
    p = module.params
    name = p["master_name"]
    address = format_hostport(p["login_host"], p["login_port"])
    result = dict(changed=False, changed_settings={}, master_name=name)

    # A password put into settings by mistake must not be echoed either.
    for raw, value in (p["settings"] or {}).items():
        if str(raw).strip().lower() == "auth-pass" and value not in (None, ""):
            module.no_log_values.add(str(value))

    try:
        wanted = wanted_settings(p["settings"])
        credentials = []
        if p["update_password"] == "always":
            if p["auth_user"] is not None:
                credentials.append(("auth-user", value_to_text("auth-user", p["auth_user"]), False))
            if p["auth_pass"] is not None:
                credentials.append(("auth-pass", value_to_text("auth-pass", p["auth_pass"]), True))
        if p["sentinel_pass"] is not None:
            value_to_text("sentinel-pass", p["sentinel_pass"])
    except SettingError as exc:
        module.fail_json(msg="sentinel_config: %s" % exc, **result)

    call = make_caller(module, "sentinel_config", "Sentinel", address, result)

    def read_master():
        reply = call([["SENTINEL", "MASTER", name]])[0]
        if isinstance(reply, ReplyError):
            module.fail_json(msg="sentinel_config: SENTINEL MASTER %s failed on %s: %s"
                             % (name, address, reply.message), **result)
        fields = master_fields(reply)
        if not fields:
            module.fail_json(msg="sentinel_config: unexpected SENTINEL MASTER reply from %s" % address, **result)
        return fields

    fields = read_master()
    todo = []
    before = {}
    for field, text in wanted:
        if field in fields:
            current = fields[field]
        elif field in EMPTY_WHEN_ABSENT:
            current = ""
        else:
            module.fail_json(msg="sentinel_config: Sentinel at %s does not report %r in SENTINEL MASTER %s, so it "
                             "cannot be compared and is refused" % (address, field, name), setting=field, **result)
        before[field] = current
        if not same_value(text, current):
            todo.append((field, text, False))

    def report(field, after, secret):
        if field in CREDENTIALS:
            return dict(before=None, after=HIDDEN if secret else after)
        return dict(before=before[field], after=after)

    acl_todo, pass_differs = own_passwords_todo(module, call, address, result)
    port_change = announce_port_change(module, call, address, result)
    if module.check_mode:
        result["changed_settings"] = dict((f, report(f, t, s)) for f, t, s in todo + credentials)
        if acl_todo:
            result["changed_settings"]["passwords"] = dict(before=HIDDEN, after=HIDDEN)
        if pass_differs:
            result["changed_settings"]["sentinel-pass"] = dict(before=HIDDEN, after=HIDDEN)
        if port_change:
            result["changed_settings"]["announce-port"] = port_change
        result["changed"] = bool(result["changed_settings"])
        if module._diff:
            result["diff"] = settings_diff(result["changed_settings"])
        module.exit_json(**result)

    changed_settings = {}
    if acl_todo:
        # The new password beside the old one (or the old one gone), then Sentinel writes its file.
        replies = call(acl_passwords_commands(acl_todo) + [["SENTINEL", "FLUSHCONFIG"]])
        errors = [r for r in replies if isinstance(r, ReplyError)]
        if errors:
            module.fail_json(msg="sentinel_config: Sentinel at %s refused its new passwords: %s"
                             % (address, errors[0].message), **result)
        changed_settings["passwords"] = dict(before=HIDDEN, after=HIDDEN)

    if pass_differs:
        reply = call([["SENTINEL", "CONFIG", "SET", "sentinel-pass", p["sentinel_pass"]]])[0]
        if isinstance(reply, ReplyError):
            result.update(changed_settings=changed_settings, changed=bool(changed_settings))
            module.fail_json(msg="sentinel_config: Sentinel at %s refused sentinel-pass: %s"
                             % (address, reply.message.replace(p["sentinel_pass"], HIDDEN)),
                             setting="sentinel-pass", **result)
        changed_settings["sentinel-pass"] = dict(before=HIDDEN, after=HIDDEN)

    if port_change:
        reply = call([["SENTINEL", "CONFIG", "SET", "announce-port", port_change["after"]]])[0]
        if isinstance(reply, ReplyError):
            result.update(changed_settings=changed_settings, changed=bool(changed_settings))
            module.fail_json(msg="sentinel_config: Sentinel at %s refused announce-port: %s" % (address, reply.message),
                             setting="announce-port", **result)
        changed_settings["announce-port"] = port_change

    # One SENTINEL SET per field, in order, stopping at the first refusal.
    for field, text, secret in todo + credentials:
        reply = call([["SENTINEL", "SET", name, field, text]])[0]
        if isinstance(reply, ReplyError):
            message = reply.message if not secret else reply.message.replace(text, HIDDEN)
            result["changed_settings"] = changed_settings
            result["changed"] = bool(changed_settings)
            module.fail_json(msg="sentinel_config: Sentinel at %s refused %s for %s: %s (already applied: %s)"
                             % (address, field, name, message, ", ".join(changed_settings) or "none"),
                             setting=field, **result)
        changed_settings[field] = report(field, text, secret)

    if todo:
        fields = read_master()
        for field, _text, _secret in todo:
            changed_settings[field]["after"] = fields.get(field, changed_settings[field]["after"])
    result["changed_settings"] = changed_settings
    result["changed"] = bool(changed_settings)
    if module._diff:
        result["diff"] = settings_diff(changed_settings)
    module.exit_json(**result)


def own_passwords_todo(module, call, address, result):
    """What passwords and sentinel_pass ask for: ([(user, hashes, current)] for ACL SETUSER, whether
    sentinel-pass differs)."""
    p = module.params
    acl_todo = []
    if [pw for pw in p["passwords"] or [] if pw]:
        try:
            acl_todo = acl_passwords_todo(call, {"default": p["passwords"]})
        except ValueError as exc:
            module.fail_json(msg="sentinel_config: passwords on %s: %s" % (address, exc), **result)
    if p["sentinel_pass"] is None:
        return acl_todo, False
    return acl_todo, config_get(module, call, address, result, "sentinel-pass") != p["sentinel_pass"]


def announce_port_change(module, call, address, result):
    """{before, after} when announce_port is given and differs from Sentinel's, else None."""
    wanted = module.params["announce_port"]
    if wanted is None:
        return None
    current = config_get(module, call, address, result, "announce-port")
    if current is not None and same_value(str(wanted), str(current)):
        return None
    return dict(before=current, after=str(wanted))


def config_get(module, call, address, result, name):
    """A global setting as SENTINEL CONFIG GET reports it (None when it does not)."""
    reply = call([["SENTINEL", "CONFIG", "GET", name]])[0]
    if isinstance(reply, ReplyError):
        module.fail_json(msg="sentinel_config: SENTINEL CONFIG GET %s failed on %s: %s"
                         % (name, address, reply.message), **result)
    found = resp_to_text(reply) or []
    return dict(zip(found[0::2], found[1::2])).get(name) if isinstance(found, list) else None


if __name__ == "__main__":
    main()
