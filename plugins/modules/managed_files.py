#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: managed_files
short_description: Write several small files in one call (content given, owner, group and mode shared)
version_added: "1.1.0"
description:
  - Writes each file of I(files) whose content differs from the given one (or which is missing), atomically (a
    temporary file in the same directory, renamed over the old one), and sets I(owner), I(group) and I(mode) on
    every file of the list. A fresh node then costs one call for a whole set of files instead of one
    C(ansible.builtin.copy) (several calls) per file.
  - The roles install the check's private package (C(plugins/module_utils/_vipcheck)) with it, the list coming
    from R(redis_ha.sentinel_vip.vipcheck_outdated,ansible_collections.redis_ha.sentinel_vip.vipcheck_outdated_filter)
    with C(content=true), so a converged node is not called at all.
author:
  - redis_ha maintainers (@redis-ha)
options:
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file on the node; its directory must exist.
        type: path
        required: true
      content:
        description: The file's content, base64-encoded.
        type: str
        required: true
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports what would be written and writes nothing.
notes:
  - Meant for files that are not secrets (the content passes through the task's arguments).
"""

EXAMPLES = r"""
- name: Install the check's files that are missing or differ (one call)
  redis_ha.sentinel_vip.managed_files:
    files: "{{ keepalived_node_state | redis_ha.sentinel_vip.vipcheck_outdated('/usr/local/lib/redis-ha/redis_vip_check', content=true) }}"
    owner: root
    group: root
    mode: "0644"
"""

RETURN = r"""
written:
  description: Paths whose content was (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: ["/usr/local/lib/redis-ha/redis_vip_check/verdict.py"]
"""

import base64
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def _differs(path, data):
    try:
        with open(path, "rb") as handle:
            return handle.read() != data
    except OSError:
        return True


def _write(module, path, data):
    fd, tmp = tempfile.mkstemp(prefix=".managed_files.", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(files=dict(type="list", elements="dict", required=True,
                                      options=dict(path=dict(type="path", required=True),
                                                   content=dict(type="str", required=True)))),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    written, changed = [], False
    for entry in module.params["files"]:
        path = entry["path"]
        try:
            data = base64.b64decode(entry["content"], validate=True)
        except ValueError as exc:
            module.fail_json(msg="%s: content is not base64: %s" % (path, exc))
        if not os.path.isdir(os.path.dirname(path)):
            module.fail_json(msg="%s: its directory does not exist" % path)
        if _differs(path, data):
            written.append(path)
            if module.check_mode:
                continue
            _write(module, path, data)
        if os.path.exists(path):
            file_args = module.load_file_common_arguments(module.params, path=path)
            changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed or bool(written), written=written)


if __name__ == "__main__":
    main()
