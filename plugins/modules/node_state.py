#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_state
short_description: Read, in one call, the files and systemd units a role manages on a node (read only)
version_added: "1.1.0"
description:
  - Reports each path of I(paths) (a file, or a directory together with the files and directories directly in
    it) with its type, owner, group, mode and, for a regular file, the SHA-1 of its content; and, for each unit of
    I(units), systemd's C(ActiveState) and C(UnitFileState); and, for each package of I(packages), its installed
    version; and which of I(users) and I(groups) exist. Nothing is changed.
  - The roles read this once at their start and hand it to M(redis_ha.sentinel_vip.managed_file), which then
    answers from it, without a call to the node, for every file whose content, owner, group and mode are
    already the wanted ones (a no-op C(site.yml) run costs one call per role instead of one per file).
author:
  - redis_ha maintainers (@redis-ha)
options:
  paths:
    description:
      - Files or directories to report; a directory is listed one level deep. A path that does not exist is
        reported as absent.
    type: list
    elements: path
    default: []
  units:
    description: systemd units whose state to report.
    type: list
    elements: str
    default: []
  packages:
    description: Debian packages whose installed version to report (C(dpkg-query)).
    type: list
    elements: str
    default: []
  users:
    description: Accounts whose home and shell to report.
    type: list
    elements: str
    default: []
  groups:
    description: Groups whose presence to report.
    type: list
    elements: str
    default: []
  contents:
    description:
      - Small text files (such as C(/proc/sys) settings) whose content to report, without its trailing newline; a
        file that does not exist or cannot be read is left out.
    type: list
    elements: path
    default: []
    version_added: "1.1.0"
  max_size:
    description: Files larger than this many bytes are reported without a checksum (and, in I(contents), left out).
    type: int
    default: 1048576
notes:
  - Standard library only; run it with the privileges the managing tasks use (C(become)), so that every file
    can be read.
"""

EXAMPLES = r"""
- name: Read the state of the role's files and units (one call)
  redis_ha.sentinel_vip.node_state:
    paths: [/etc/redis, /etc/systemd/system/redis-server.service.d]
    units: [redis-server.service]
  register: redis_node_state
"""

RETURN = r"""
files:
  description: Per path (absolute), its C(type) (C(file), C(directory), C(link), C(other) or C(absent)), C(owner),
    C(group), C(mode) (an integer, the permission bits) and, for a regular file within I(max_size), C(sha1).
  returned: always
  type: dict
  sample: {"/etc/redis/redis-ha.conf": {"type": "file", "owner": "redis", "group": "redis", "mode": 416,
           "sha1": "0a4d55a8d778e5022fab701977c5d840bbc486d0"}}
units:
  description: Per unit, its C(active) (ActiveState) and C(enabled) (UnitFileState); empty strings where
    systemd does not answer.
  returned: always
  type: dict
  sample: {"redis-server.service": {"active": "active", "enabled": "enabled"}}
packages:
  description: Per package, its installed version, an empty string where it is not installed.
  returned: always
  type: dict
  sample: {"redis-server": "5:7.0.15-1~deb12u10", "redis-tools": ""}
users:
  description: Per account of I(users) that exists, its C(uid), C(group) (primary group's name), C(home) and C(shell).
  returned: always
  type: dict
  sample: {"keepalived_script": {"uid": 998, "group": "keepalived_script", "home": "/nonexistent",
           "shell": "/usr/sbin/nologin"}}
contents:
  description: Per file of I(contents) that could be read, its text without the trailing newline.
  returned: always
  type: dict
  sample: {"/proc/sys/vm/overcommit_memory": "1"}
groups:
  description: Per group of I(groups) that exists, its C(gid).
  returned: always
  type: dict
  sample: {"redis-exporter": 997}
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(path, max_size):
    """One path's type, ownership, permission bits and (a regular file) checksum."""
    try:
        info = os.lstat(path)
    except OSError:
        return {"type": "absent"}
    kind = ("directory" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(info.st_mode)
            else "link" if stat.S_ISLNK(info.st_mode) else "other")
    found = {"type": kind, "owner": _name(pwd.getpwuid, info.st_uid), "group": _name(grp.getgrgid, info.st_gid),
             "mode": stat.S_IMODE(info.st_mode)}
    if kind == "file" and info.st_size <= max_size:
        try:
            found["sha1"] = _sha1(path)
        except OSError:
            pass
    return found


def read_files(paths, max_size):
    files = {}
    for path in paths:
        path = os.path.abspath(path)
        files[path] = describe(path, max_size)
        if files[path]["type"] == "directory":
            for entry in sorted(os.listdir(path)):
                child = os.path.join(path, entry)
                files.setdefault(child, describe(child, max_size))
    return files


def read_units(module, units):
    found = dict((unit, {"active": "", "enabled": ""}) for unit in units)
    if not units:
        return found
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return found
    # one call for all: the properties of each unit, units separated by an empty line
    rc, out, _err = module.run_command([systemctl, "show", "--property=Id,ActiveState,UnitFileState", "--"] + units)
    if rc != 0:
        return found
    for unit, block in zip(units, out.strip("\n").split("\n\n")):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        found[unit] = {"active": props.get("ActiveState", ""), "enabled": props.get("UnitFileState", "")}
    return found


def read_packages(module, packages):
    found = dict((name, "") for name in packages)
    dpkg_query = module.get_bin_path("dpkg-query") if packages else None
    if not dpkg_query:
        return found
    # rc 1 when a name is unknown to dpkg: the known ones are still listed
    _rc, out, _err = module.run_command([dpkg_query, "-W", "-f=${Package}\t${db:Status-Status}\t${Version}\n", "--"]
                                        + packages)
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] in found and fields[1] == "installed":
            found[fields[0]] = fields[2]
    return found


def read_accounts(users, groups):
    found_users, found_groups = {}, {}
    for name in users:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        found_users[name] = {"uid": entry.pw_uid, "group": _name(grp.getgrgid, entry.pw_gid), "home": entry.pw_dir,
                             "shell": entry.pw_shell}
    for name in groups:
        try:
            found_groups[name] = grp.getgrnam(name).gr_gid
        except KeyError:
            continue
    return found_users, found_groups


def read_contents(paths, max_size):
    found = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read(max_size + 1)
        except OSError:
            continue
        if len(data) <= max_size:
            found[path] = data.decode("utf-8", "replace").rstrip("\n")
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            units=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            contents=dict(type="list", elements="path", default=[]),
            max_size=dict(type="int", default=1048576),
        ),
        supports_check_mode=True,
    )
    users, groups = read_accounts(module.params["users"], module.params["groups"])
    module.exit_json(changed=False, users=users, groups=groups,
                     files=read_files(module.params["paths"], module.params["max_size"]),
                     units=read_units(module, module.params["units"]),
                     packages=read_packages(module, module.params["packages"]),
                     contents=read_contents(module.params["contents"], module.params["max_size"]))


if __name__ == "__main__":
    main()
