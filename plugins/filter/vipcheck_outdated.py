# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja2 filter: which files of the check's package a node still needs (the roles copy only those)."""

from __future__ import annotations

import base64
import hashlib
import os

DOCUMENTATION = r"""
name: vipcheck_outdated
short_description: Files of the check's package that are missing or differ on a node
version_added: "1.0.0"
description:
  - The keepalived role (the check) and the redis role (the start-up guard) install this collection's
    private package C(plugins/module_utils/_vipcheck) on every node. Given what C(ansible.builtin.find)
    found in the package's directory on the node (with C(get_checksum=true)), returns the package's source
    files whose copy there is missing, differs (SHA-1) or is not root-owned with mode 0644, so that a
    converged node costs one C(find) instead of one C(copy) per file.
options:
  _input:
    description:
      - The registered result of M(redis_ha.sentinel_vip.node_state) with O(dest) among its paths, or (as in
        1.0.0) the C(files) list of an C(ansible.builtin.find) of O(dest) with C(get_checksum=true).
    type: raw
    required: true
  dest:
    description: The package's directory on the node.
    type: path
    required: true
  content:
    description:
      - Return, instead of the source paths, the entries M(redis_ha.sentinel_vip.managed_files) takes (C(path) on
        the node, C(content) base64-encoded), so that the missing files are written in one call.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Install the check package's files that are missing or differ
  ansible.builtin.copy:
    src: "{{ item }}"
    dest: "/usr/local/lib/redis-ha/redis_vip_check/{{ item | basename }}"
    owner: root
    group: root
    mode: "0644"
  loop: "{{ found.files | redis_ha.sentinel_vip.vipcheck_outdated('/usr/local/lib/redis-ha/redis_vip_check') }}"

- name: The same in one call
  redis_ha.sentinel_vip.managed_files:
    files: "{{ state | redis_ha.sentinel_vip.vipcheck_outdated('/usr/local/lib/redis-ha/redis_vip_check', content=true) }}"
    owner: root
    group: root
    mode: "0644"
"""

RETURN = r"""
_value:
  description:
    - Absolute paths of the package's C(*.py) files on the controller, sorted by name; with O(content=true),
      dicts with C(path) (on the node) and C(content) (base64) instead.
  type: list
  elements: raw
"""

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "_vipcheck")


def package_files():
    """The package's source files on the controller (never its __pycache__), sorted by name."""
    return sorted(os.path.join(PACKAGE, name) for name in os.listdir(PACKAGE) if name.endswith(".py"))


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _sha1(path):
    return hashlib.sha1(_read(path)).hexdigest()  # the checksum ansible.builtin.find reports


def _installed(found):
    """(checksum, mode, owner, group) per path, from a find result's files or a node_state result."""
    if isinstance(found, dict):  # node_state: owner and group by name, mode an integer
        return {path: (f.get("sha1"), "0%03o" % f.get("mode", 0), f.get("owner"), f.get("group"))
                for path, f in found.get("files", {}).items() if f.get("type") == "file"}
    return {f.get("path"): (f.get("checksum"), f.get("mode"), "root" if f.get("uid") == 0 else f.get("uid"),
                            "root" if f.get("gid") == 0 else f.get("gid")) for f in found or []}


def vipcheck_outdated(found, dest, content=False):
    """Source files whose copy in dest is missing, differs or is not root:root 0644 (with content: the entries
    managed_files writes)."""
    installed = _installed(found)
    outdated = [src for src in package_files()
                if installed.get(os.path.join(dest, os.path.basename(src))) != (_sha1(src), "0644", "root", "root")]
    if not content:
        return outdated
    return [{"path": os.path.join(dest, os.path.basename(src)), "content": base64.b64encode(_read(src)).decode("ascii")}
            for src in outdated]


class FilterModule:
    """vipcheck_outdated filter of redis_ha.sentinel_vip."""

    def filters(self):
        return {"vipcheck_outdated": vipcheck_outdated}
