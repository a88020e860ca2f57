# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter of playbooks/status.yml: the status_report filter's result as a table for people."""

from __future__ import annotations

DOCUMENTATION = r"""
name: status_table
short_description: A redis_ha group's status (the status_report filter's result) as a fixed-width table
version_added: "1.0.0"
description:
  - One line per node (node, engine and version, role, the master its Sentinel names, the VIPs it holds, replication
    offset lag in bytes, the VIP check's verdict, the exporters' units, the check's reason), then the master and
    the holders of each VIP.
options:
  _input:
    description: The result of the P(redis_ha.sentinel_vip.status_report#filter) filter.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The group's status as a table
  ansible.builtin.debug:
    msg: "{{ hostvars | redis_ha.sentinel_vip.status_report(groups['redis_ha']) | redis_ha.sentinel_vip.status_table }}"
"""

RETURN = r"""
_value:
  description: The table, lines separated by newlines.
  type: str
"""

COLUMNS = (("node", "node"), ("engine", "engine"), ("role", "role"), ("sentinel_master", "Sentinel's master"),
           ("vips", "holds VIP"), ("lag_bytes", "lag bytes"), ("check", "check"), ("exporters", "exporters"),
           ("reason", "check's reason"))


# The check's reason is cut to this width in the table (the JSON has it whole).
REASON_WIDTH = 100


def _cell(row, key):
    value = row.get(key)
    if key == "engine" and row.get("reachable"):
        return "%s %s" % (row["engine"], row["version"])
    if key == "vips":
        return " ".join(value or []) or ("" if row.get("reachable") else "-")
    if key == "reason" and value and len(value) > REASON_WIDTH:
        return value[:REASON_WIDTH - 3] + "..."
    if key == "exporters" and row.get("reachable"):
        return " ".join("%s:%s" % item for item in value.items()) or "off"
    return "-" if value in (None, {}) else str(value)


def status_table(report):
    """The report as a fixed-width table, with the master and the VIP holders underneath."""
    titles = [title for key, title in COLUMNS]
    cells = [[_cell(row, key) for key, title in COLUMNS] for row in report["nodes"]]
    widths = [max([len(title)] + [len(line[i]) for line in cells]) for i, title in enumerate(titles)]
    lines = ["  ".join(title.ljust(w) for title, w in zip(titles, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.append("Sentinel's master: %s" % (report["master"] or "none"))
    lines += ["VIP %s held by: %s" % (vip, ", ".join(nodes) or "nobody")
              for vip, nodes in report["vip_holders"].items()]
    return "\n".join(lines)


class FilterModule:
    """status_table filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"status_table": status_table}
