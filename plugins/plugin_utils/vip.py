# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of a VIP's address without its prefix (issue 27): the roles' text form (the filter
vip_address) and the controller plugins' parsed form (vrid_clashes, group_problems)."""

from __future__ import annotations

import ipaddress


def vip_text(vip):
    """The VIP as written, without its /PREFIX (192.0.2.100/24 -> 192.0.2.100; an address without one as it is)."""
    return str(vip).split("/", 1)[0]


def vip_address(vip):
    """The address of a VIP written ADDRESS/PREFIX or ADDRESS (an ipaddress object), None when it is no address."""
    if not isinstance(vip, str):
        return None
    try:
        return ipaddress.ip_interface(vip.strip()).ip
    except ValueError:
        return None
