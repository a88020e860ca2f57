# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the runtime-configuration modules (redis_config, sentinel_config) share: talking to the daemon
with one pipelined connection per call (logging in with the previous password while a rotation is under
way), failing the module cleanly, the before/after diff, and the set of passwords an ACL user accepts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.client import redis_pipeline
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.errors import ConfigError, ReplyError, RespError
from ansible_collections.redis_ha.sentinel_vip.plugins.module_utils._vipcheck.transport import tls_for

TIMEOUT = 5.0


def login_argument_spec(default_port):
    """The login_* options shared by the collection's Redis/Sentinel modules."""
    return dict(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", default=default_port),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_password_previous=dict(type="str", no_log=True),
        **tls_argument_spec()
    )


def tls_argument_spec():
    """The login_tls* options (TLS to the daemon) shared by every module of the collection that connects."""
    return dict(
        login_tls=dict(type="bool", default=False),
        login_tls_ca_file=dict(type="path"),
        login_tls_cert_file=dict(type="path"),
        login_tls_key_file=dict(type="path"),
        login_tls_server_name=dict(type="str"),
    )


def login_tls(module):
    """The transport.TLS of the module's login_tls* options, or None for plaintext; a CA, certificate or key
    that cannot be loaded ends the module."""
    p = module.params
    if not p.get("login_tls"):
        return None
    try:
        return tls_for({"tls": {"ca_file": p.get("login_tls_ca_file") or None,
                                "cert_file": p.get("login_tls_cert_file") or None,
                                "key_file": p.get("login_tls_key_file") or None,
                                "server_name": p.get("login_tls_server_name") or None}})
    except ConfigError as exc:
        module.fail_json(msg="login_tls: %s" % exc)
    return None  # not reached: fail_json exits


def make_caller(module, label, daemon, address, result):
    """A function running a list of commands on the daemon (login_* parameters of the module); an
    authentication or network failure ends the module with a message naming the daemon."""
    p = module.params
    tls = login_tls(module)
    # The passwords to log in with, in order: the current one, then (a rotation under way) the previous one;
    # the first one accepted is kept for the later calls.
    passwords = [p["login_password"]] + ([p["login_password_previous"]] if p.get("login_password_previous") else [])

    def call(commands):
        try:
            while True:
                try:
                    return redis_pipeline(p["login_host"], p["login_port"], commands, user=p["login_user"],
                                          password=passwords[0], timeout=TIMEOUT, raise_on_error=False, tls=tls)
                except ReplyError as exc:  # only AUTH raises here
                    if exc.code not in ("WRONGPASS", "NOAUTH") or len(passwords) == 1:
                        raise
                    passwords.pop(0)
        except ReplyError as exc:
            module.fail_json(msg="%s: authentication to %s at %s failed: %s" % (label, daemon, address, exc.message),
                             **result)
        except (OSError, RespError) as exc:
            module.fail_json(msg="%s: cannot talk to %s at %s: %s"
                             % (label, daemon, address, getattr(exc, "strerror", None) or exc), **result)
        return None  # not reached: fail_json exits

    return call


def settings_diff(changed_settings, unknown="(unknown)"):
    """Ansible diff of {name: {before, after}}; a before of None (unreadable) is shown as `unknown`."""
    return dict(before=dict((k, v["before"] if v["before"] is not None else unknown)
                            for k, v in changed_settings.items()),
                after=dict((k, v["after"]) for k, v in changed_settings.items()))


def password_hashes(passwords):
    """The SHA-256 hex digests Redis' ACL keeps of a list of passwords (empty ones and repeats left out)."""
    return sorted(set(hashlib.sha256(pw.encode("utf-8")).hexdigest() for pw in passwords or [] if pw))


def acl_passwords_todo(call, wanted):
    """The users whose accepted passwords differ from the wanted ones: [(user, wanted hashes, current hashes)].
    wanted: {user: [passwords]}; raises ValueError naming a user the server does not know (ACL GETUSER)."""
    users = sorted(wanted or {})
    if not users:
        return []
    replies = call([["ACL", "GETUSER", user] for user in users])
    todo = []
    for user, reply in zip(users, replies):
        if isinstance(reply, ReplyError) or not isinstance(reply, list):
            why = reply.message if isinstance(reply, ReplyError) else "no such user"
            raise ValueError("ACL GETUSER %s: %s" % (user, why))
        fields = dict(zip(reply[0::2], reply[1::2]))
        current = sorted(h.decode() if isinstance(h, bytes) else str(h) for h in fields.get(b"passwords", []))
        hashes = password_hashes(wanted[user])
        if not hashes:
            raise ValueError("user %s: no password given" % user)
        if current != hashes:
            todo.append((user, hashes, current))
    return todo


def acl_passwords_commands(todo):
    """ACL SETUSER commands making each user of todo (acl_passwords_todo) accept exactly its wanted passwords.
    resetpass + the hashes in one command: atomic, no window without a valid password; connections already
    authenticated stay (only the passwords change, never the user's rights or channels)."""
    return [["ACL", "SETUSER", user, "resetpass"] + ["#" + h for h in hashes] for user, hashes, _current in todo]
