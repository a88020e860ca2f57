# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter listing what is wrong with secrets, by name only (never a value)."""

from __future__ import annotations

import re

DOCUMENTATION = r"""
name: secret_problems
short_description: What is wrong with some secrets, naming the variables and never their values
version_added: "1.0.0"
description:
  - Examines secrets given as a mapping of variable name to value (C(none) when unset) and returns one
    message per bad variable (not set, not a string, empty, a line break, the example placeholder,
    characters Redis Sentinel or Valkey would rewrite unreadably, a VRRP PASS password keepalived cannot
    use, a value that differs from the variable it should equal).
  - The messages hold variable names only; use the filter in a C(no_log) task.
options:
  _input:
    description: Variable name to value (C(none) when the variable is unset).
    type: dict
    required: true
  unquoted:
    description: Names of the secrets Redis Sentinel rewrites unquoted into its file (no blank, quote or backslash).
    type: list
    elements: str
    default: []
  placeholder:
    description: Prefix of the example inventory's placeholder secrets (compared case-insensitively).
    type: str
    default: CHANGE-ME
  engine:
    description: Server engine; with C(valkey), O(replication) may hold no double quote or backslash.
    type: str
    default: redis
  replication:
    description: Name of the replication password (Valkey 8 rewrites primaryauth without escaping).
    type: str
    default: redis_replication_password
  vrrp_auth:
    description: Name of the keepalived VRRP PASS password among the secrets (may be empty), if any.
    type: str
    default: keepalived_auth_pass
  vrrp_version:
    description: keepalived_vrrp_version (VRRP PASS authentication exists in version 2 only).
    type: str
    default: '3'
  same_as:
    description: Name to the name of the secret it must equal; each pair is compared when both are usable.
    type: dict
    default: {}
  set_through:
    description: Name to the group-wide variable it defaults to, named in the message of an unset secret.
    type: dict
    default: {}
  optional:
    description:
      - Names of the secrets that may be unset or empty (the C(*_previous) passwords of a rotation, empty when
        none is under way); when set, they are examined like the others.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Examine the secrets (no_log; only the names of bad variables come out)
  ansible.builtin.set_fact:
    sentinel_secret_problems: >-
      {{ {'sentinel_password': sentinel_password | default(none)}
         | redis_ha.sentinel_vip.secret_problems(unquoted=['sentinel_password']) }}
  no_log: true
"""

RETURN = r"""
_value:
  description: One message per bad secret (variable name and what is expected), empty when all are fine.
  type: list
  elements: str
"""

_VRRP_AUTH_BAD = re.compile(r"[\"'\\#!{}]")


def _password_problem(name, value, unquoted, placeholder, valkey_replication):
    if value is None:
        return None, "is not set: expected a password (keep it in an ansible-vault file)"
    if not isinstance(value, str):
        return None, "is not a string: expected a password (quote it in YAML)"
    if not value:
        return None, "is empty: expected a password"
    if re.search(r"[\r\n]", value):
        return None, "contains a line break: expected one line (the track script configuration is key=value per line)"
    if placeholder and value.upper().startswith(placeholder.upper()):
        return None, "is still the example placeholder (%s...): expected a real secret" % placeholder
    if unquoted and re.search(r"[\s\"'\\]", value):
        return None, ("contains a blank, quote or backslash: expected none of them (Redis Sentinel rewrites it "
                      "unquoted into its configuration file and would not start again)")
    if valkey_replication and re.search(r"[\"\\]", value):
        return None, ("contains a double quote or backslash: expected neither with redis_ha_engine valkey (Valkey 8 "
                      "rewrites primaryauth into its configuration file without escaping them: the server would not "
                      "start again, or would read another password)")
    return value, None


def _vrrp_auth_problem(value, vrrp_version):
    if value is None:
        value = ""
    if not isinstance(value, str):
        return "is not a string: expected a password of at most 8 characters, or empty for none"
    if len(value) > 8:
        return ("has %d characters: expected at most 8 (keepalived silently truncates a longer auth_type PASS "
                "password)" % len(value))
    if value and (not re.match(r"^[\x21-\x7e]+$", value) or _VRRP_AUTH_BAD.search(value)):
        return ("contains a blank, quote, backslash, #, !, brace or non-ASCII character: expected printable ASCII "
                "without them (keepalived.conf holds it unquoted)")
    if value and str(vrrp_version) != "2":
        return ("is set but keepalived_vrrp_version is %s: expected keepalived_vrrp_version 2 (VRRPv3 has no "
                "authentication), or no keepalived_auth_pass" % vrrp_version)
    return None


def secret_problems(secrets, unquoted=(), placeholder="CHANGE-ME", engine="redis",
                    replication="redis_replication_password", vrrp_auth="keepalived_auth_pass", vrrp_version="3",
                    same_as=None, set_through=None, optional=()):
    """Messages naming each bad secret of secrets ({name: value or None}), never a value."""
    problems, usable = [], {}
    for name, value in secrets.items():
        if name in optional and value in (None, ""):
            usable[name] = None
            continue
        if name == vrrp_auth:
            problem = _vrrp_auth_problem(value, vrrp_version)
        else:
            usable[name], problem = _password_problem(
                name, value, name in unquoted, placeholder, engine == "valkey" and name == replication)
            if value is None and name in (set_through or {}):
                problem = "is not set (set the group-wide %s): expected a password" % set_through[name]
        if problem:
            problems.append("%s %s" % (name, problem))
    for name, source in (same_as or {}).items():
        if usable.get(name) is not None and usable.get(source) is not None and usable[name] != usable[source]:
            problems.append("%s differs from %s: expected the same password (leave %s unset, it defaults to %s)"
                            % (name, source, name, source))
    return problems


class FilterModule:
    """secret_problems filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"secret_problems": secret_problems}
