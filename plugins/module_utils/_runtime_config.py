# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the runtime-configuration modules (redis_config, sentinel_config) share: talking to the daemon
with one pipelined connection per call, failing the module cleanly, and the before/after diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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

    def call(commands):
        try:
            return redis_pipeline(p["login_host"], p["login_port"], commands, user=p["login_user"],
                                  password=p["login_password"], timeout=TIMEOUT, raise_on_error=False, tls=tls)
        except ReplyError as exc:  # only AUTH raises here
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
