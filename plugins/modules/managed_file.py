#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: managed_file
short_description: A template, copy or directory that skips the call to the node when the node already has it
version_added: "1.1.0"
description:
  - Runs M(ansible.builtin.template), M(ansible.builtin.copy) or M(ansible.builtin.file) (a directory) with the
    other options given, unchanged, except when I(known) (the result of M(redis_ha.sentinel_vip.node_state) read
    earlier in the play) shows that the node already has the wanted file, that is the same content (the rendered
    template, the source file or I(content), by SHA-1) and the owner, group and mode the task gives; or, for a
    directory, the directory with those attributes. Then it answers C(ok) without a call to the node.
  - Where I(known) cannot tell (no reading of that path, a symbolic mode, options other than content, owner,
    group, mode, validate, force, backup and follow), the builtin runs as usual, so the result is always the
    builtin's, only faster. With C(force=false) an existing file is left alone, as the builtin does.
  - A file changed on the node after I(known) was read is seen by the next run; read I(known) at the start of
    the tasks that write the files.
author:
  - redis_ha maintainers (@redis-ha)
options:
  using:
    description: The builtin to run; its options are given beside I(using) and I(known).
    type: str
    choices: [template, copy, file]
    default: template
  known:
    description: The registered result of M(redis_ha.sentinel_vip.node_state) for this node.
    type: dict
notes:
  - An action plugin; the options of the builtin named by I(using) are passed through unchanged.
  - Check mode and diff mode behave as the builtin's.
seealso:
  - module: redis_ha.sentinel_vip.node_state
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Read the role's files (one call)
  redis_ha.sentinel_vip.node_state:
    paths: [/etc/keepalived]
  register: keepalived_node_state

- name: Write keepalived.conf
  redis_ha.sentinel_vip.managed_file:
    known: "{{ keepalived_node_state }}"
    src: keepalived.conf.j2
    dest: /etc/keepalived/keepalived.conf
    owner: root
    group: root
    mode: "0640"
"""

RETURN = r"""
changed:
  description: Whether the file changed (always false when answered from I(known)).
  returned: always
  type: bool
msg:
  description: C(already as wanted (node_state)) when answered from I(known); else the builtin's.
  returned: when answered from I(known)
  type: str
"""
