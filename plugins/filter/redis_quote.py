# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter quoting a value for redis.conf / sentinel.conf."""

from __future__ import annotations

DOCUMENTATION = r"""
name: redis_quote
short_description: Quote a string as one argument of a redis.conf or sentinel.conf directive
version_added: 0.1.0
description:
  - Returns the value in double quotes, escaping backslash, double quote and control characters the way
    Redis' own config parser (sdssplitargs) reads them back, so passwords may hold spaces, quotes,
    C(#), C($) and backslashes.
options:
  _input:
    description: The string to quote.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Render masterauth safely
  ansible.builtin.debug:
    msg: "masterauth {{ 'p a\"ss' | redis_ha.sentinel_vip.redis_quote }}"
"""

RETURN = r"""
_value:
  description: The quoted string.
  type: str
"""

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}


def redis_quote(value):
    """Quote value for a Redis configuration file."""
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 32 or ord(char) == 127:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class FilterModule:
    """Filters of redis_ha.sentinel_vip."""

    def filters(self):
        return {"redis_quote": redis_quote}
