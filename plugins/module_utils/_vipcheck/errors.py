# -*- coding: utf-8 -*-
# Copyright: redis_ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The check's exceptions: RESP errors (never network errors: those are OSError) and config errors."""


class RespError(Exception):
    """Base class of every non-network error of the RESP client."""


class ReplyError(RespError):
    """The server answered with an error reply (``-ERR ...``, ``-NOAUTH ...``).

    ``code`` is the first word (``ERR``, ``NOAUTH``, ``WRONGPASS``, ``LOADING``,
    ``BUSY``, ``NOPERM`` ...), ``message`` the whole text without the ``-``.
    """

    def __init__(self, message):
        RespError.__init__(self, message)
        self.message = message
        self.code = message.split(" ", 1)[0] if message else "ERR"


class ProtocolError(RespError):
    """The bytes received are not a valid RESP2 reply."""


class ConfigError(ValueError):
    """Invalid check configuration (never contains secret values)."""
