# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter checking that the track script weight keeps the passing node above every failing one."""

from __future__ import annotations

DOCUMENTATION = r"""
name: weight_problems
short_description: Pairs of nodes where a failing node's VRRP priority is not below a passing node's
version_added: "1.0.0"
description:
  - keepalived adds a positive track script weight while the script passes and a negative one while it
    fails, and clamps the result to 1..254; weight 0 puts a failing node in FAULT instead.
  - Returns one message for each ordered pair of nodes (i, j) where i passing is not above j failing.
options:
  _input:
    description: Host name to its settings, each with C(keepalived_priority) and C(keepalived_check_weight).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the weight spread
  ansible.builtin.assert:
    that: "{{ {'a': {'keepalived_priority': 100, 'keepalived_check_weight': 0}}
              | redis_ha.sentinel_vip.weight_problems | length == 0 }}"
"""

RETURN = r"""
_value:
  description: One message per pair where the passing node is not above the failing one, empty when all are fine.
  type: list
  elements: str
"""


def _clamp(value):
    return max(min(value, 254), 1)


def weight_problems(settings):
    """Messages for each pair (i passing, j failing) where i is not above j."""
    problems = []
    for i, si in settings.items():
        pi, wi = int(si["keepalived_priority"]), int(si["keepalived_check_weight"])
        pass_i = _clamp(pi + max(wi, 0))
        for j, sj in settings.items():
            pj, wj = int(sj["keepalived_priority"]), int(sj["keepalived_check_weight"])
            fail_j = _clamp(pj + min(wj, 0))
            if j != i and wj != 0 and pass_i <= fail_j:
                problems.append("%s passing is at priority %d (keepalived_priority %d, keepalived_check_weight %d), "
                                "not above %s failing at %d (keepalived_priority %d, keepalived_check_weight %d)"
                                % (i, pass_i, pi, wi, j, fail_j, pj, wj))
    return problems


class FilterModule:
    """weight_problems filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"weight_problems": weight_problems}
