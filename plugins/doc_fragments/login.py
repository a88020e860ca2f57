# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of the modules that talk to one Redis server or Sentinel (redis_command,
redis_config, sentinel_config): the login_* options of module_utils/_runtime_config.login_argument_spec
and their action group, redis_ha.sentinel_vip.redis (meta/runtime.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods
    """login_* options and the action group of the modules sharing them."""

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
