#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: redis_config
short_description: Converge Redis configuration parameters at runtime (CONFIG GET / CONFIG SET / CONFIG REWRITE)
version_added: "0.1.0"
description:
  - The C(redis) role writes the Redis configuration file only once, because from then on Redis owns it
    (Sentinel sends C(REPLICAOF) and C(CONFIG REWRITE) on failover). This module applies later changes of
    settings through Redis itself, so that Redis rewrites its own file.
  - Reads every setting with C(CONFIG GET), compares it with the wanted value after normalisation (see
    notes), sends one C(CONFIG SET) with only the settings that differ, and then one C(CONFIG REWRITE) so
    that the configuration file on disk gets the new values.
  - With several settings to change, C(CONFIG SET) is atomic (Redis 7.0 or later), either all are applied
    or none. Older Redis versions reject a multi-parameter C(CONFIG SET); the module then sets them one by
    one and reports which ones were applied if one fails.
  - Refuses C(replicaof) and C(slaveof) (Sentinel owns replication), glob patterns, and settings Redis does
    not know. Settings Redis cannot change at runtime (immutable ones such as C(daemonize)) fail with
    Redis' own error text, which names the setting; nothing is changed then.
author:
  - redis_ha maintainers (@redis-ha)
options:
  settings:
    description:
      - Wanted values, C(name -> value). Names are case-insensitive (sent lower-case).
      - Values may be strings, integers, floats, booleans (sent as C(yes)/C(no)) or lists (elements
        converted the same way and joined with one space, e.g. I(save=[3600, 1, 300, 100])).
        C(null) and an empty list mean the empty string (e.g. C(save) disabled).
      - Values are shown in the result and in the diff. Use I(secret_settings) for passwords.
    type: dict
    default: {}
  secret_settings:
    description:
      - Like I(settings), for values that must never be shown (C(masterauth), C(requirepass),
        C(tls-key-file-pass), C(tls-client-key-file-pass) must be given here, not in I(settings)).
      - Their values are compared like the others but reported as C((hidden)).
    type: dict
    default: {}
  acl_passwords:
    description:
      - The passwords each ACL user must accept, C(user -> [passwords]); users not named keep theirs. Several
        passwords let a rotation go without a failed login (the new one beside the old one, then the old one
        removed). Compared as SHA-256 hashes with C(ACL GETUSER); a user that differs gets one
        C(ACL SETUSER <user> resetpass) with each hash (one command, atomic; only the passwords change, connections already
        authenticated stay).
      - Empty passwords in a list are left out; every user named needs at least one. Users must exist.
      - Applied before I(settings), and followed by C(CONFIG REWRITE) when I(rewrite=true) (the users are
        in the configuration file Redis owns). Never shown; RV(changed_users) names the users.
    type: dict
    default: {}
  rewrite:
    description:
      - Run C(CONFIG REWRITE) once after a change, so that the configuration file keeps the new values
        across restarts.
      - When true and Redis runs without a configuration file, the module fails before changing anything.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode. Check mode only reads (C(CONFIG GET), C(INFO server)).
  - I(login_user) needs C(config|get), C(config|set), C(config|rewrite) and C(info) (the latter only when
    I(rewrite=true) and something must change), and C(acl|getuser), C(acl|setuser) with I(acl_passwords).
  - "Normalisation before comparing (Redis answers C(CONFIG GET) in a canonical form): values are split on
    whitespace and compared token by token, so extra blanks do not count; a token that is a memory size
    with a unit (C(b), C(k), C(kb), C(m), C(mb), C(g), C(gb), any case) counts as its number of bytes with
    Redis' semantics (C(k)=1000, C(kb)=1024, C(m)=1000000, C(mb)=1048576, C(g)=10^9, C(gb)=1073741824);
    C(yes)/C(no) tokens are case-insensitive; the values of enumerated settings (C(maxmemory-policy),
    C(appendfsync), C(loglevel) ...) are case-insensitive; C(client-output-buffer-limit) compares only the
    classes given (C(replica) = C(slave)); C(notify-keyspace-events) compares the set of flags (C(A) expanded)."
  - When a value still differs after normalisation it is set, and Redis is asked for it again right after
    C(CONFIG SET). If Redis' answer equals the value before (the wanted value was only spelled
    differently, or Redis clamped it, e.g. C(hz 5000) is stored as C(500)), the setting is not reported as
    changed and a warning shows Redis' canonical spelling. Check mode cannot do this and may then report a
    change that the real run would not make; use Redis' canonical spelling to avoid it.
  - Whether a setting is immutable is only known when Redis refuses it, so check mode reports a change of
    an immutable setting as a change.
  - The module never writes its invocation to the managed node's journal (AnsibleModule C(no_log)),
    because I(settings) is a free-form dict whose values the argument spec cannot mask.
  - Needs no Python library on the node besides the standard library.
extends_documentation_fragment:
  - redis_ha.sentinel_vip.login
  - redis_ha.sentinel_vip.login.tls
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Check mode only reads (C(CONFIG GET), C(INFO server)); see the notes for its limits.
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: redis_ha.sentinel_vip.sentinel_config
"""

EXAMPLES = r"""
- name: Apply inventory changes to the running Redis (it rewrites its own file)
  redis_ha.sentinel_vip.redis_config:
    login_user: "{{ redis_admin_user }}"
    login_password: "{{ redis_admin_password }}"
    settings:
      min-replicas-to-write: "{{ redis_min_replicas_to_write }}"
      min-replicas-max-lag: "{{ redis_min_replicas_max_lag }}"
      maxmemory: "{{ redis_maxmemory }}"          # e.g. 100mb; compared as 104857600 bytes
      maxmemory-policy: "{{ redis_maxmemory_policy }}"
      appendonly: "{{ redis_appendonly }}"       # boolean -> yes/no
      save: "{{ redis_save }}"                   # list -> "3600 1 300 100"; [] -> "" (disabled)
  register: redis_conf

- name: Change the replication password without showing it
  redis_ha.sentinel_vip.redis_config:
    login_user: "{{ redis_admin_user }}"
    login_password: "{{ redis_admin_password }}"
    secret_settings:
      masterauth: "{{ redis_replication_password }}"

- name: Let the applications' user accept a new password beside the old one (rotation, first step)
  redis_ha.sentinel_vip.redis_config:
    login_user: "{{ redis_admin_user }}"
    login_password: "{{ redis_admin_password }}"
    acl_passwords:
      default: ["{{ redis_password }}", "{{ redis_password_previous }}"]
  no_log: true
"""

RETURN = r"""
changed_settings:
  description:
    - The settings that were changed (or would be changed in check mode), C(name -> {before, after}).
    - C(after) is Redis' own answer after the change (its canonical form), or the wanted value in check mode.
    - Values of I(secret_settings) are C((hidden)).
  returned: always
  type: dict
  sample: {"maxmemory": {"before": "0", "after": "104857600"}, "min-replicas-to-write": {"before": "0", "after": "1"}}
changed_users:
  description: The users of I(acl_passwords) whose passwords were changed (or would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["default", "replicator"]
rewritten:
  description: True when C(CONFIG REWRITE) was run (the configuration file on disk was rewritten by Redis).
  returned: always
  type: bool
  sample: true
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

# Sentinel owns replication: it sends REPLICAOF + CONFIG REWRITE on failover.
SENTINEL_OWNED = frozenset(("replicaof", "slaveof"))
# Values that must only be given through the no_log option secret_settings.
SECRET_NAMES = frozenset(("requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"))
# Enumerated settings: Redis accepts any case and answers lower-case.
ENUM_SETTINGS = frozenset((
    "acl-pubsub-default", "appendfsync", "cluster-preferred-endpoint-type", "enable-debug-command",
    "enable-module-command", "enable-protected-configs", "loglevel", "maxmemory-policy", "oom-score-adj",
    "propagation-error-behavior", "repl-diskless-load", "sanitize-dump-payload", "shutdown-on-sigint",
    "shutdown-on-sigterm", "supervised", "syslog-facility", "tls-auth-clients",
))

_MEMORY = re.compile(r"^([0-9]+)(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_MEMORY_UNITS = {
    None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3,
}
_OBL_CLASSES = {"normal": "normal", "replica": "slave", "slave": "slave", "pubsub": "pubsub"}
_NOTIFY_ALL = "g$lshzxetd"  # what the A flag stands for (Redis 7.0)
_GLOB = re.compile(r"[*?\[\]]")


class SettingError(ValueError):
    """A wanted setting the module refuses (message names the setting)."""


# --------------------------------------------------------------------------
# Value conversion and normalisation (pure functions, unit-tested directly)
# --------------------------------------------------------------------------

def value_to_text(name, value):
    """The string sent to Redis for an Ansible value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if isinstance(item, (list, tuple, dict)) or item is None:
                raise SettingError("setting %r: list elements must be strings, numbers or booleans" % name)
            parts.append(value_to_text(name, item))
        return " ".join(parts)
    raise SettingError("setting %r: value must be a string, number, boolean or list, not %s"
                       % (name, type(value).__name__))


def memory_bytes(token):
    """Bytes for a Redis memory value (``100mb``, ``1k``, ``512``), or None if it is not one."""
    m = _MEMORY.match(token)
    if not m:
        return None
    unit = m.group(2).lower() if m.group(2) else None
    return int(m.group(1)) * _MEMORY_UNITS[unit]


def _normal_token(token, lower):
    if memory_bytes(token) is not None and not token.isdigit():
        return str(memory_bytes(token))
    if lower or token.lower() in ("yes", "no"):
        return token.lower()
    return token


def _output_buffer_limits(tokens):
    """{class: (hard, soft, seconds)} for client-output-buffer-limit, or None if unparsable."""
    if not tokens or len(tokens) % 4:
        return None
    out = {}
    for i in range(0, len(tokens), 4):
        cls = _OBL_CLASSES.get(tokens[i].lower())
        hard, soft = memory_bytes(tokens[i + 1]), memory_bytes(tokens[i + 2])
        if cls is None or hard is None or soft is None or not tokens[i + 3].isdigit():
            return None
        out[cls] = (hard, soft, int(tokens[i + 3]))
    return out


def normalise(name, text):
    """A comparable form of a value of setting ``name`` (see the module notes)."""
    tokens = text.split()
    if name == "client-output-buffer-limit":
        limits = _output_buffer_limits(tokens)
        if limits is not None:
            return ("limits", limits)
    if name == "notify-keyspace-events":
        flags = set("".join(tokens))
        if "A" in flags:
            flags.discard("A")
            flags.update(_NOTIFY_ALL)
        return ("flags", frozenset(flags))
    return ("tokens", tuple(_normal_token(t, name in ENUM_SETTINGS) for t in tokens))


def same_value(name, wanted, current):
    """True when the wanted text and Redis' current text mean the same."""
    if wanted == current:
        return True
    w, c = normalise(name, wanted), normalise(name, current)
    if w[0] == "limits" and c[0] == "limits":
        # Only the classes given are compared; Redis always answers all three.
        return all(c[1].get(cls) == limit for cls, limit in w[1].items())
    return w == c


def check_name(raw):
    name = str(raw).strip().lower()
    if not name:
        raise SettingError("empty setting name")
    if _GLOB.search(name) or any(ch.isspace() for ch in name):
        raise SettingError("setting %r: glob patterns and blanks are not allowed in names" % raw)
    if name in SENTINEL_OWNED:
        raise SettingError("setting %r is owned by Redis Sentinel (it sends REPLICAOF on failover); "
                           "this collection never changes replication at runtime" % name)
    return name


def wanted_settings(settings, secret_settings):
    """[(name, text, secret)] in a stable order; raises SettingError."""
    wanted = {}
    for source, secret in ((settings, False), (secret_settings, True)):
        for raw in sorted(source or {}, key=str):
            name = check_name(raw)
            if name in wanted:
                raise SettingError("setting %r is given twice" % name)
            if name in SECRET_NAMES and not secret:
                raise SettingError("setting %r holds a password: give it in secret_settings (no_log), "
                                   "not in settings" % name)
            wanted[name] = (value_to_text(name, source[raw]), secret)
    return [(name, text, secret) for name, (text, secret) in sorted(wanted.items())]


def _config_value(name, reply):
    """Redis' current text for ``name`` from a CONFIG GET reply, or None when unknown."""
    pairs = resp_to_text(reply)
    if not isinstance(pairs, list) or len(pairs) < 2:
        return None
    found = dict(zip(pairs[0::2], pairs[1::2]))
    if name in found:
        return found[name]
    if len(found) == 1:  # an alias answered under its canonical name
        return next(iter(found.values()))
    return None


def _shown(value, secret):
    return HIDDEN if secret else value


def _setting_in_error(message):
    m = re.search(r"argument '([^']*)'", message)
    return m.group(1) if m else None


# --------------------------------------------------------------------------
# The module
# --------------------------------------------------------------------------

def main():
    module = AnsibleModule(
        argument_spec=dict(
            login_argument_spec(6379),
            settings=dict(type="dict", default={}),
            secret_settings=dict(type="dict", default={}, no_log=True),
            acl_passwords=dict(type="dict", default={}, no_log=True),
            rewrite=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
        # settings is free-form: never log the invocation to the node's journal.
        no_log=True,
    )
    p = module.params
    address = format_hostport(p["login_host"], p["login_port"])
    result = dict(changed=False, changed_settings={}, changed_users=[], rewritten=False)

    # A password put into settings by mistake must not be echoed either.
    for raw, value in (p["settings"] or {}).items():
        if str(raw).strip().lower() in SECRET_NAMES and value not in (None, ""):
            module.no_log_values.add(str(value))

    try:
        wanted = wanted_settings(p["settings"], p["secret_settings"])
    except SettingError as exc:
        module.fail_json(msg="redis_config: %s" % exc, **result)
    if not wanted and not p["acl_passwords"]:
        module.exit_json(**result)

    call = make_caller(module, "redis_config", "Redis", address, result)
    acl_changed = converge_acl_passwords(module, call, address, result)
    if not wanted:
        finish(module, call, address, result, {}, acl_changed)

    # 1. Read every wanted setting.
    replies = call([["CONFIG", "GET", name] for name, _text, _secret in wanted])
    current = {}
    for (name, _text, _secret), reply in zip(wanted, replies):
        if isinstance(reply, ReplyError):
            module.fail_json(msg="redis_config: CONFIG GET %s failed on %s: %s" % (name, address, reply.message),
                             setting=name, **result)
        value = _config_value(name, reply)
        if value is None:
            module.fail_json(msg="redis_config: Redis at %s does not know the setting %r (CONFIG GET returned "
                             "nothing)" % (address, name), setting=name, **result)
        current[name] = value

    todo = [(name, text, secret) for name, text, secret in wanted if not same_value(name, text, current[name])]
    if not todo:
        finish(module, call, address, result, {}, acl_changed)

    # 2. CONFIG REWRITE needs a configuration file: find out before changing anything.
    if p["rewrite"]:
        info = call([["INFO", "server"]])[0]
        if isinstance(info, ReplyError):
            module.fail_json(msg="redis_config: INFO server failed on %s: %s (needed to check that Redis runs "
                             "from a configuration file; or set rewrite=false)" % (address, info.message),
                             **result)
        fields = dict(line.split(":", 1) for line in resp_to_text(info).splitlines() if ":" in line)
        if not fields.get("config_file", "").strip():
            module.fail_json(msg="redis_config: Redis at %s runs without a configuration file, so CONFIG REWRITE "
                             "cannot persist %s; set rewrite=false to change it at runtime only"
                             % (address, ", ".join(n for n, _t, _s in todo)), **result)

    if module.check_mode:
        finish(module, call, address, result, dict(
            (name, dict(before=_shown(current[name], secret), after=_shown(text, secret)))
            for name, text, secret in todo), acl_changed)

    # 3. One atomic CONFIG SET, then ask again for Redis' canonical values.
    set_cmd = ["CONFIG", "SET"]
    for name, text, _secret in todo:
        set_cmd += [name, text]
    reread = [["CONFIG", "GET", name] for name, _t, _s in todo]
    replies = call([set_cmd] + reread)
    error = replies[0] if isinstance(replies[0], ReplyError) else None
    if error is not None and len(todo) > 1 and "wrong number of arguments" in error.message.lower():
        # Redis < 7.0: one parameter per CONFIG SET; stop at the first refusal.
        applied = []
        for name, text, _secret in todo:
            reply = call([["CONFIG", "SET", name, text]])[0]
            if isinstance(reply, ReplyError):
                error = ReplyError("%s (already applied at runtime, not rewritten: %s)"
                                   % (reply.message, ", ".join(applied) or "none"))
                result["changed"] = bool(applied)
                break
            applied.append(name)
        else:
            error = None
        replies = [None] + call(reread)
    if error is not None:
        named = _setting_in_error(error.message) or (todo[0][0] if len(todo) == 1 else None)
        module.fail_json(msg="redis_config: Redis at %s refused %s: %s"
                         % (address, "setting %r" % named if named else "the settings", error.message),
                         setting=named, **result)

    changed_settings = {}
    for (name, text, secret), reply in zip(todo, replies[1:]):
        after = _config_value(name, reply) if not isinstance(reply, ReplyError) else None
        if after is None:
            after = text
        if after == current[name]:
            module.warn("redis_config: %s is already %s; Redis stores the wanted %s in that form "
                        "(write it that way to keep check mode accurate)"
                        % (name, _shown(repr(after), secret), _shown(repr(text), secret)))
            continue
        changed_settings[name] = dict(before=_shown(current[name], secret), after=_shown(after, secret))
    finish(module, call, address, result, changed_settings, acl_changed)


def converge_acl_passwords(module, call, address, result):
    """Make every user of acl_passwords accept exactly its passwords (check mode: only tell); True on a change."""
    try:
        todo = acl_passwords_todo(call, module.params["acl_passwords"])
    except ValueError as exc:
        module.fail_json(msg="redis_config: acl_passwords on %s: %s" % (address, exc), **result)
    result["changed_users"] = [user for user, _hashes, _current in todo]
    if todo and not module.check_mode:
        for (user, _h, _c), reply in zip(todo, call(acl_passwords_commands(todo))):
            if isinstance(reply, ReplyError):
                module.fail_json(msg="redis_config: Redis at %s refused the new passwords of user %s: %s"
                                 % (address, user, reply.message), **result)
    return bool(todo)


def finish(module, call, address, result, changed_settings, acl_changed):
    """Report, and (not in check mode) let Redis rewrite its own configuration file after a change; exits."""
    result["changed_settings"] = changed_settings
    result["changed"] = bool(changed_settings) or acl_changed
    if result["changed"] and module.params["rewrite"] and not module.check_mode:
        reply = call([["CONFIG", "REWRITE"]])[0]
        if isinstance(reply, ReplyError):
            module.fail_json(msg="redis_config: %s changed at runtime on %s, but CONFIG REWRITE failed: %s; the "
                             "configuration file does not have the new values"
                             % (", ".join(sorted(changed_settings) + ["passwords of %s" % u for u in
                                                                      result["changed_users"]]),
                                address, reply.message), **result)
        result["rewritten"] = True
    if module._diff:
        result["diff"] = settings_diff(changed_settings)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
