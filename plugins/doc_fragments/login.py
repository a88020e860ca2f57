# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of the modules that talk to one Redis server or Sentinel (redis_command,
redis_config, sentinel_config): the login_* options of module_utils/_runtime_config.login_argument_spec
and their action group, redis_ha.sentinel_vip.redis (meta/runtime.yml); and (TLS, fragment
redis_ha.sentinel_vip.login.tls) the login_tls* options of every module that connects
(_runtime_config.tls_argument_spec)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods
    """login_* options and the action group of the modules sharing them; TLS: the login_tls* options."""

    DOCUMENTATION = r"""
options:
  login_host:
    description: Address of the Redis server or Sentinel (IPv4, IPv6 or hostname; no Unix sockets).
    type: str
    default: 127.0.0.1
  login_port:
    description: Port of the Redis server.
    type: int
    default: 6379
  login_user:
    description: ACL user, for C(AUTH user password).
    type: str
  login_password:
    description: Password of I(login_user), or of the C(default) user (C(requirepass)) when I(login_user) is not given.
    type: str
  login_password_previous:
    description:
      - Password tried when I(login_password) is refused (C(-WRONGPASS)), the previous one while a rotation of
        the login password is under way and the server may not accept the new one yet.
    type: str
attributes:
  action_group:
    description: Use C(group/redis_ha.sentinel_vip.redis) in C(module_defaults) to set the I(login_*) options once.
    support: full
    membership:
      - redis_ha.sentinel_vip.redis
"""

    TLS = r"""
options:
  login_tls:
    description:
      - Connect with TLS (the server's or Sentinel's C(tls-port)); the server's certificate is checked against
        I(login_tls_ca_file) and must be valid for the address connected to (or I(login_tls_server_name)).
    type: bool
    default: false
  login_tls_ca_file:
    description: CA bundle (PEM) trusted with I(login_tls); when not given, the system's CAs.
    type: path
  login_tls_cert_file:
    description: Client certificate (PEM) presented with I(login_tls), for servers with C(tls-auth-clients yes).
    type: path
  login_tls_key_file:
    description: Private key of I(login_tls_cert_file) (when not in that file).
    type: path
  login_tls_server_name:
    description: Name checked in the server's certificate instead of the address connected to.
    type: str
"""
