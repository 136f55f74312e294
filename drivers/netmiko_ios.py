"""The netmiko driver: real IOS routers over SSH or telnet, listed in an inventory."""

from __future__ import annotations

from pathlib import Path

from .base import DeviceSession, Driver, DriverUnavailable, register
from .scenario import Scenario


@register
class NetmikoDriver(Driver):
    name = "netmiko"

    def __init__(self, inventory: str | Path | None = None, scenario: Scenario | None = None):
        raise DriverUnavailable("--driver=netmiko: the netmiko driver (real routers from an inventory) "
                                "is not available yet; run with --driver=emulated")

    def roles(self) -> list[str]:  # pragma: no cover - cannot be constructed yet
        return []

    def session(self, role: str) -> DeviceSession:  # pragma: no cover - cannot be constructed yet
        raise DriverUnavailable("the netmiko driver is not available yet")
