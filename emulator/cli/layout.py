"""Which release's text layouts a device prints: the one place the choice is made.

The emulated hardware is a Cisco 2500 running 12.2 whatever its configuration
says; a configuration whose ``version`` line names 15.x switches the show
commands that changed their text between the two releases (``show crypto
isakmp sa``, ``show crypto ipsec sa``, ``show crypto map``, ``show access-lists``,
``show ip nat translations``, ``show interfaces``) to the 15.x layouts, so that
tools written against 15.x (Genie, ntc-templates) can be tried on the lab.
Releases before 15.0 (a configuration without a ``version`` line included) keep
the 12.2 layouts.  The platform, its interface names and ``show version`` stay
the 2500's: a 2500 cannot run 15.x, and another platform would rename every
interface the lab files and the suites name.
"""

from __future__ import annotations

from enum import Enum

from emulator.config.commands import software_version
from emulator.config.model import DeviceConfig

__all__ = ["Layout", "layout_of"]


class Layout(Enum):
    IOS12 = "12.2"
    IOS15 = "15"


def layout_of(cfg: DeviceConfig) -> Layout:
    """The layout the configuration's ``version`` line asks for."""
    major, _minor = software_version(cfg)
    return Layout.IOS15 if major >= 15 else Layout.IOS12
