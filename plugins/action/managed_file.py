# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""managed_file: ansible.builtin.template, copy or file (a directory), answered from a node_state reading when the
node already has the wanted file; otherwise the builtin action runs unchanged. Documentation:
plugins/modules/managed_file.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase

USING = ("template", "copy", "file")
# copy options that leave a file's content, owner, group and mode as given (anything else: the builtin decides)
SAFE_COPY_OPTIONS = {"src", "content", "dest", "owner", "group", "mode", "validate", "force", "backup", "follow",
                     "checksum", "unsafe_writes", "directory_mode", "local_follow", "decrypt"}
SAFE_DIRECTORY_OPTIONS = {"path", "dest", "name", "state", "owner", "group", "mode", "follow", "unsafe_writes"}
OCTAL = re.compile(r"^0?[0-7]{3,4}$")


def _mode(value):
    """The permission bits a mode option asks for, None for none, False where only the builtin can tell."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and OCTAL.match(value):
        return int(value, 8)
    return False


def attributes_match(args, found):
    """Owner, group and mode: those the task gives equal the node's."""
    for key in ("owner", "group"):
        if args.get(key) is not None and str(args[key]) != found.get(key):
            return False
    mode = _mode(args.get("mode"))
    return mode is not False and (mode is None or mode == found.get("mode"))


def path_known(args, files):
    """file with state=directory: the directory is there with the wanted attributes; state=absent: nothing is."""
    path = args.get("path") or args.get("dest") or args.get("name")
    if args.get("state") not in ("directory", "absent") or not path or set(args) - SAFE_DIRECTORY_OPTIONS:
        return False
    found = files.get(os.path.normpath(path), {})
    if args["state"] == "absent":
        return found.get("type") == "absent"
    return found.get("type") == "directory" and attributes_match(args, found)


def copy_known(args, files, local_source):
    """copy (or a template's rendered copy): the node's file has the wanted content and attributes."""
    dest = args.get("dest")
    if not dest or set(args) - SAFE_COPY_OPTIONS or args.get("remote_src") or dest.endswith("/"):
        return False
    found = files.get(os.path.normpath(dest), {})
    if found.get("type") != "file":
        return False
    if str(args.get("force", True)).lower() in ("false", "no", "0"):
        return True  # the builtin leaves an existing file alone, attributes included
    if not attributes_match(args, found) or "sha1" not in found:
        return False
    if "content" in args:
        if not isinstance(args["content"], str):
            return False
        data = to_bytes(args["content"], errors="surrogate_or_strict")
    else:
        source = local_source(args.get("src"))
        if not source or not os.path.isfile(source):
            return False
        with open(source, "rb") as handle:
            data = handle.read()
    return hashlib.sha1(data).hexdigest() == found["sha1"]


def known_result(path, found):
    if found.get("type") == "absent":
        return {"changed": False, "path": path, "state": "absent", "msg": "already as wanted (node_state)"}
    return {"changed": False, "dest": path, "path": path, "owner": found.get("owner"), "group": found.get("group"),
            "mode": "0%03o" % found.get("mode", 0), "checksum": found.get("sha1"),
            "msg": "already as wanted (node_state)"}


class _KnownCopy(object):
    """Stands in for the copy action a template action hands its rendered file to."""

    def __init__(self, real, files, local_source):
        self._real, self._files, self._local_source = real, files, local_source

    def run(self, tmp=None, task_vars=None):
        args = self._real._task.args
        if copy_known(args, self._files, self._local_source):
            return known_result(args["dest"], self._files[os.path.normpath(args["dest"])])
        return self._real.run(tmp=tmp, task_vars=task_vars)


class _Loaders(object):
    """The shared plugin loaders, with a copy action that knows the node's files."""

    def __init__(self, real, files, local_source):
        self._real, self._files, self._local_source = real, files, local_source

    def __getattr__(self, name):
        return getattr(self._real, name)

    @property
    def action_loader(self):
        return self

    def get(self, name, *args, **kwargs):
        action = self._real.action_loader.get(name, *args, **kwargs)
        if name in ("ansible.legacy.copy", "copy", "ansible.builtin.copy"):
            return _KnownCopy(action, self._files, self._local_source)
        return action


class ActionModule(ActionBase):

    TRANSFERS_FILES = False  # the builtin it hands over to makes its own temporary directory where it needs one

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        using = args.pop("using", "template")
        known = args.pop("known", None) or {}
        if using not in USING:
            raise AnsibleActionFail("using must be one of %s, not %r" % (", ".join(USING), using))
        files = known.get("files", {}) if isinstance(known, dict) else {}
        if using == "file":
            if path_known(args, files):
                path = os.path.normpath(args.get("path") or args.get("dest") or args.get("name"))
                return known_result(path, files[path])
            return self._execute_module(module_name="ansible.legacy.file", module_args=args, task_vars=task_vars)
        task = self._task.copy()
        task.args = args
        loaders = _Loaders(self._shared_loader_obj, files, self._local_source)
        action = loaders.get("ansible.legacy.%s" % using, task=task, connection=self._connection,
                             play_context=self._play_context, loader=self._loader, templar=self._templar,
                             shared_loader_obj=loaders)
        # ansible-core 2.19 ignores shared_loader_obj (its actions use the module-level loaders): set it here
        action._shared_loader_obj = loaders  # pylint: disable=protected-access
        # a template renders on the controller: the copy it hands over to makes the node's temporary directory, and
        # only where it runs (three calls to the node saved when the node has the file already)
        action._early_needs_tmp_path = lambda: False  # pylint: disable=protected-access
        return action.run(task_vars=task_vars)

    def _local_source(self, src):
        if not src:
            return None
        try:
            return self._find_needle("files", src)
        except Exception:  # pylint: disable=broad-except  # not found: the builtin copy reports it
            return None
